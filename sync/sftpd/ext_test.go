package sftpd

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// u64s decodes a reply of uint64s.
func u64s(t *testing.T, p Packet, n int) []uint64 {
	t.Helper()
	r, ok := p.(*ExtendedReply)
	if !ok || len(r.Data) != 8*n {
		t.Fatalf("got %#v, want an EXTENDED_REPLY of %d uint64s", p, n)
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint64(r.Data[8*i:])
	}
	return out
}

func strs(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

func TestExtensions(t *testing.T) {
	dir0 := t.TempDir()
	passwd, group := filepath.Join(dir0, "passwd"), filepath.Join(dir0, "group")
	os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbad line\n"), 0o644)
	os.WriteFile(group, []byte("root:x:0:\nstaff:x:50:alice\n"), 0o644)
	c, dir := startSession(t, Options{MaxHandles: 7, PasswdFile: passwd, GroupFile: group})
	os.WriteFile(filepath.Join(dir, "a"), []byte("0123456789"), 0o644)

	t.Run("statvfs", func(t *testing.T) {
		var want unix.Statfs_t
		unix.Statfs(dir, &want)
		got := u64s(t, c.ext(extStatvfs, strs("/a")), 11)
		if got[0] != uint64(want.Bsize) || got[2] != want.Blocks || got[10] != uint64(want.Namelen) {
			t.Errorf("got %v, want bsize %d blocks %d namemax %d", got, want.Bsize, want.Blocks, want.Namelen)
		}
		h := c.open("/a", OpenRead, Attrs{})
		if f := u64s(t, c.ext(extFstatvfs, strs(h)), 11); f[2] != got[2] {
			t.Errorf("fstatvfs: got %v, want the blocks of statvfs %d", f, got[2])
		}
	})
	t.Run("limits", func(t *testing.T) {
		got := u64s(t, c.ext(extLimits, nil), 4)
		if want := []uint64{MaxPacket, MaxPacket - 1024, MaxPacket - 1024, 7}; !slicesEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("hardlink and posix-rename", func(t *testing.T) {
		if !isOK(c.ext(extHardlink, strs("/a", "/l"))) {
			t.Fatal("hardlink failed")
		}
		os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644)
		if !isOK(c.ext(extPosixRename, strs("/x", "/l"))) {
			t.Fatal("posix-rename onto an existing file failed")
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "l")); string(b) != "x" {
			t.Errorf("after posix-rename: got %q, want %q", b, "x")
		}
	})
	t.Run("fsync", func(t *testing.T) {
		h := c.open("/a", OpenWrite, Attrs{})
		if r := c.ext(extFsync, strs(h)); !isOK(r) {
			t.Errorf("got %#v, want OK", r)
		}
	})
	t.Run("lsetstat", func(t *testing.T) {
		os.Symlink("a", filepath.Join(dir, "sl"))
		a := Attrs{Flags: AttrAcmodtime, Atime: 5000, Mtime: 6000}
		if r := c.ext(extLsetstat, appendAttrs(strs("/sl"), &a)); !isOK(r) {
			t.Fatalf("got %#v, want OK", r)
		}
		var st unix.Stat_t
		unix.Lstat(filepath.Join(dir, "sl"), &st)
		if st.Mtim.Sec != 6000 || st.Atim.Sec != 5000 {
			t.Errorf("link times: got %d %d, want 5000 6000", st.Atim.Sec, st.Mtim.Sec)
		}
		if a := c.stat("/a"); a.Mtime == 6000 {
			t.Error("lsetstat changed the link's target")
		}
		m := Attrs{Flags: AttrPermissions, Permissions: 0o600}
		if r := c.ext(extLsetstat, appendAttrs(strs("/a"), &m)); !isOK(r) {
			t.Errorf("chmod of a file: got %#v, want OK", r)
		}
	})
	t.Run("expand-path", func(t *testing.T) {
		for in, want := range map[string]string{"~": "/", "~/x/../y": "/y", "rel": "/rel", "/abs/": "/abs"} {
			r := c.ext(extExpandPath, strs(in))
			if n, ok := r.(*Name); !ok || n.Entries[0].Name != want {
				t.Errorf("%q: got %#v, want %q", in, r, want)
			}
		}
	})
	t.Run("copy-data", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "src"), []byte("0123456789"), 0o644)
		r := c.open("/src", OpenRead|OpenWrite, Attrs{})
		w := c.open("/dst", OpenWrite|OpenCreat, Attrs{})
		req := func(from string, off, n uint64, to string, toOff uint64) []byte {
			b := appendU64(appendU64(strs(from), off), n)
			return appendU64(appendStr(b, to), toOff)
		}
		if !isOK(c.ext(extCopyData, req(r, 2, 0, w, 2))) {
			t.Fatal("copy to EOF failed")
		}
		if !isOK(c.ext(extCopyData, req(r, 0, 2, w, 0))) {
			t.Fatal("copy of 2 bytes failed")
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "dst")); string(b) != "0123456789" {
			t.Errorf("dst: got %q, want %q", b, "0123456789")
		}
		if isOK(c.ext(extCopyData, req(r, 0, 5, r, 3))) {
			t.Error("overlapping copy within one file: got OK, want an error")
		}
		if isOK(c.ext(extCopyData, req(w, 0, 0, r, 0))) {
			t.Error("copy from a write-only handle: got OK, want an error")
		}
		a := c.open("/app", OpenWrite|OpenCreat|OpenAppend, Attrs{})
		c.ok(&Write{ID: c.nextID(), Handle: a, Data: []byte(">")})
		if !isOK(c.ext(extCopyData, req(r, 0, 3, a, 0))) {
			t.Fatal("copy onto an APPEND handle failed")
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "app")); string(b) != ">012" {
			t.Errorf("app: got %q, want %q", b, ">012")
		}
	})
	t.Run("users-groups-by-id", func(t *testing.T) {
		ids := func(v ...uint32) []byte {
			var b []byte
			for _, x := range v {
				b = appendU32(b, x)
			}
			return b
		}
		r := c.ext(extUsersGroups, appendBytes(appendBytes(nil, ids(1000, 4242, 0)), ids(50, 1)))
		d := decoder{b: r.(*ExtendedReply).Data}
		users, groups := decoder{b: d.bytes()}, decoder{b: d.bytes()}
		var got []string
		for _, x := range []*decoder{&users, &groups} {
			for len(x.b) > 0 {
				got = append(got, x.str())
			}
		}
		if strings.Join(got, ",") != "alice,,root,staff," {
			t.Errorf("got %q, want alice,,root,staff,", got)
		}
	})
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFormatLongName(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.Local)
	names := &idNames{users: map[uint32]string{1000: "alice"}, groups: map[uint32]string{100: "users"}}
	tests := []struct {
		name string
		st   unix.Stat_t
		want string
	}{
		{"f", unix.Stat_t{Mode: 0o100644, Nlink: 1, Uid: 1000, Gid: 100, Size: 1234,
			Mtim: unix.Timespec{Sec: time.Date(2026, 5, 3, 9, 7, 0, 0, time.Local).Unix()}},
			"-rw-r--r--    1 alice    users        1234 May  3 09:07 f"},
		{"d", unix.Stat_t{Mode: 0o41777, Nlink: 12, Uid: 4242, Gid: 4243, Size: 4096,
			Mtim: unix.Timespec{Sec: time.Date(2020, 1, 15, 0, 0, 0, 0, time.Local).Unix()}},
			"drwxrwxrwt   12 4242     4243         4096 Jan 15  2020 d"},
		{"s", unix.Stat_t{Mode: 0o106744, Nlink: 1, Uid: 1000, Gid: 100},
			"-rwsr-Sr--    1 alice    users           0 Jan  1  1970 s"},
		{"l", unix.Stat_t{Mode: 0o120777, Nlink: 1, Uid: 1000, Gid: 100, Size: 3},
			"lrwxrwxrwx    1 alice    users           3 Jan  1  1970 l"},
	}
	for _, tt := range tests {
		if got := formatLongName(tt.name, &tt.st, names, now); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestParseIDFile(t *testing.T) {
	got := parseIDFile(strings.NewReader("a:x:1:1::/:/bin/sh\n#c:x:2:\n\nb:x:1:1\n+nis::::\nc:x:notanumber:\nd:x:3:\n"))
	if len(got) != 2 || got[1] != "a" || got[3] != "d" {
		t.Errorf("got %v, want map[1:a 3:d]", got)
	}
}
