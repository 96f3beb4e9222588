package sftpd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPipelinedOrder sends, without waiting for any reply, 50 rounds of
// what sshfs sends for "write 33,954 bytes, fstat, ftruncate(100), write,
// stat the path": every reply must see every earlier request of the
// round, as with OpenSSH's serial sftp-server.
func TestPipelinedOrder(t *testing.T) {
	c, dir := startSession(t, Options{})
	h := c.open("/f", OpenRead|OpenWrite|OpenCreat|OpenTrunc, Attrs{})
	data := bytes.Repeat([]byte("0123456789abcdef"), 33954/16+1)[:33954]
	const rounds = 50
	type want struct {
		size uint64
		what string
	}
	wants := map[uint32]want{} // ATTRS replies by id
	var reqs []byte
	id := uint32(1000)
	next := func() uint32 { id++; return id }
	for r := range rounds {
		reqs = AppendFrame(reqs, &Write{ID: next(), Handle: h, Offset: 0, Data: data[:32768]})
		reqs = AppendFrame(reqs, &Write{ID: next(), Handle: h, Offset: 32768, Data: data[32768:]})
		n := next()
		reqs = AppendFrame(reqs, &HandleReq{T: TypeFstat, ID: n, Handle: h})
		wants[n] = want{33954, fmt.Sprintf("round %d fstat after write", r)}
		reqs = AppendFrame(reqs, &Fsetstat{ID: next(), Handle: h, Attrs: Attrs{Flags: AttrSize, Size: 100}})
		reqs = AppendFrame(reqs, &Write{ID: next(), Handle: h, Offset: 100, Data: data[:10]})
		n = next()
		reqs = AppendFrame(reqs, &PathReq{T: TypeStat, ID: n, Path: "/f"})
		wants[n] = want{110, fmt.Sprintf("round %d stat after ftruncate and write", r)}
	}
	total := int(id - 1000)
	go func() { c.conn.Write(reqs) }()
	for range total {
		switch p := c.recv().(type) {
		case *AttrsReply:
			w := wants[p.ID]
			if p.Attrs.Size != w.size {
				t.Errorf("%s: got size %d, want %d", w.what, p.Attrs.Size, w.size)
			}
		case *Status:
			if p.Code != StatusOK {
				t.Errorf("request %d: got status %d %q, want OK", p.ID, p.Code, p.Message)
			}
		default:
			t.Fatalf("got %#v, want ATTRS or STATUS", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "f")); err != nil || fi.Size() != 110 {
		t.Errorf("final file: got %v, %v; want size 110", fi, err)
	}
}

// TestHandleFollowsFile checks that FSTAT and FSETSTAT act on the open
// file after it was unlinked, and after it was renamed and a new file took
// its name (sshfs's .fuse_hidden renames).
func TestHandleFollowsFile(t *testing.T) {
	c, dir := startSession(t, Options{})
	os.WriteFile(filepath.Join(dir, "a"), []byte("0123456789"), 0o644)
	h := c.open("/a", OpenRead|OpenWrite, Attrs{})
	c.ok(&TwoPaths{T: TypeRename, ID: c.nextID(), A: "/a", B: "/b"})
	h2 := c.open("/a", OpenWrite|OpenCreat|OpenExcl, Attrs{})
	c.ok(&Write{ID: c.nextID(), Handle: h2, Data: []byte("new file")})
	c.ok(&Fsetstat{ID: c.nextID(), Handle: h, Attrs: Attrs{Flags: AttrSize, Size: 3}})
	for name, want := range map[string]int64{"a": 8, "b": 3} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() != want {
			t.Errorf("%s after ftruncate(fd, 3): got %v, %v; want size %d", name, fi, err, want)
		}
	}
	c.ok(&PathReq{T: TypeRemove, ID: c.nextID(), Path: "/b"})
	r := c.call(&HandleReq{T: TypeFstat, ID: c.nextID(), Handle: h})
	if a, ok := r.(*AttrsReply); !ok || a.Attrs.Size != 3 {
		t.Errorf("fstat after unlink: got %#v, want ATTRS of size 3", r)
	}
	c.ok(&Fsetstat{ID: c.nextID(), Handle: h, Attrs: Attrs{Flags: AttrSize, Size: 1}})
	r = c.call(&HandleReq{T: TypeFstat, ID: c.nextID(), Handle: h})
	if a, ok := r.(*AttrsReply); !ok || a.Attrs.Size != 1 {
		t.Errorf("fstat after unlink and ftruncate: got %#v, want ATTRS of size 1", r)
	}
}

// TestCreateModes checks that OPEN and MKDIR create with the client's
// permissions less the session's umask, and 0666/0777 less it when the
// client sent none.
func TestCreateModes(t *testing.T) {
	withUmask(t, 0)
	perm := func(m uint32) Attrs { return Attrs{Flags: AttrPermissions, Permissions: m} }
	tests := []struct {
		umask uint32
		a     Attrs
		file  os.FileMode
		dir   os.FileMode
	}{
		{0o022, perm(0o600), 0o600, 0o600},
		{0o022, perm(0o700), 0o700, 0o700},
		{0o022, Attrs{}, 0o644, 0o755},
		{0o077, Attrs{}, 0o600, 0o700},
		{0o002, perm(0o777), 0o775, 0o775},
		{0, perm(0o1750), 0o1750, 0o1750},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			c, dir := startSession(t, Options{Umask: tt.umask})
			c.open("/f", OpenWrite|OpenCreat|OpenExcl, tt.a)
			c.ok(&PathAttrs{T: TypeMkdir, ID: c.nextID(), Path: "/d", Attrs: tt.a})
			for name, want := range map[string]os.FileMode{"f": tt.file, "d": tt.dir} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode() & (os.ModePerm | os.ModeSticky); got != want&os.ModePerm|stickyOf(want) {
					t.Errorf("%s: got mode %v, want %v", name, got, want)
				}
			}
		})
	}
}

// stickyOf maps the 01000 bit of a numeric mode to os.ModeSticky.
func stickyOf(m os.FileMode) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// TestTimes checks that atime and mtime are set and reported apart, by
// path and by handle.
func TestTimes(t *testing.T) {
	c, dir := startSession(t, Options{})
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	c.ok(&PathAttrs{T: TypeSetstat, ID: c.nextID(), Path: "/f", Attrs: Attrs{Flags: AttrAcmodtime, Atime: 1000, Mtime: 2000}})
	if a := c.stat("/f"); a.Atime != 1000 || a.Mtime != 2000 {
		t.Errorf("stat after setstat: got atime %d mtime %d, want 1000 2000", a.Atime, a.Mtime)
	}
	h := c.open("/f", OpenRead, Attrs{})
	c.ok(&Fsetstat{ID: c.nextID(), Handle: h, Attrs: Attrs{Flags: AttrAcmodtime, Atime: 3000, Mtime: 4000}})
	r := c.call(&HandleReq{T: TypeFstat, ID: c.nextID(), Handle: h})
	if a := r.(*AttrsReply).Attrs; a.Atime != 3000 || a.Mtime != 4000 {
		t.Errorf("fstat after fsetstat: got atime %d mtime %d, want 3000 4000", a.Atime, a.Mtime)
	}
}

// TestSymlinks checks that targets are stored as given (absolute ones
// too), READLINK returns them, and LSTAT describes the link.
func TestSymlinks(t *testing.T) {
	c, dir := startSession(t, Options{})
	for link, target := range map[string]string{"/abs": "/etc/passwd", "/rel": "../x/y", "/dirlink": "/d"} {
		c.ok(&TwoPaths{T: TypeSymlink, ID: c.nextID(), A: target, B: link})
		if got, err := os.Readlink(filepath.Join(dir, link)); err != nil || got != target {
			t.Errorf("%s on disk: got %q, %v; want %q", link, got, err, target)
		}
		r := c.call(&PathReq{T: TypeReadlink, ID: c.nextID(), Path: link})
		if n, ok := r.(*Name); !ok || len(n.Entries) != 1 || n.Entries[0].Name != target {
			t.Errorf("readlink %s: got %#v, want %q", link, r, target)
		}
	}
	r := c.call(&PathReq{T: TypeLstat, ID: c.nextID(), Path: "/abs"})
	if a, ok := r.(*AttrsReply); !ok || a.Attrs.Permissions&0o170000 != 0o120000 {
		t.Errorf("lstat /abs: got %#v, want a symbolic link", r)
	}
	// The absolute link is never followed out of the root.
	if code := c.status(&PathReq{T: TypeStat, ID: c.nextID(), Path: "/abs"}); code != StatusPermissionDenied {
		t.Errorf("stat through /abs: got status %d, want PERMISSION_DENIED", code)
	}
}

// listDir reads the whole listing of p.
func (c *testClient) listDir(p string) map[string]NameEntry {
	c.t.Helper()
	r := c.call(&PathReq{T: TypeOpendir, ID: c.nextID(), Path: p})
	h := r.(*HandleReq).Handle
	got := map[string]NameEntry{}
	for {
		r := c.call(&HandleReq{T: TypeReaddir, ID: c.nextID(), Handle: h})
		if s, ok := r.(*Status); ok {
			if s.Code != StatusEOF {
				c.t.Fatalf("readdir: got %#v, want EOF", s)
			}
			break
		}
		for _, e := range r.(*Name).Entries {
			if _, dup := got[e.Name]; dup {
				c.t.Errorf("readdir: %q listed twice", e.Name)
			}
			got[e.Name] = e
		}
	}
	c.ok(&HandleReq{T: TypeClose, ID: c.nextID(), Handle: h})
	return got
}

// TestReaddir checks that listings include "." and "..", come in batches
// and carry ls -l lines; the root's ".." is the root.
func TestReaddir(t *testing.T) {
	c, dir := startSession(t, Options{})
	os.Mkdir(filepath.Join(dir, "sub"), 0o750)
	for i := range 250 {
		os.WriteFile(filepath.Join(dir, "sub", fmt.Sprintf("f%03d", i)), []byte("abc"), 0o640)
	}
	got := c.listDir("/sub")
	if len(got) != 252 {
		t.Errorf("got %d entries, want 252", len(got))
	}
	for _, n := range []string{".", "..", "f000", "f249"} {
		if _, ok := got[n]; !ok {
			t.Errorf("entry %q missing", n)
		}
	}
	e := got["f007"]
	if e.Attrs.Size != 3 || e.Attrs.Permissions != 0o100640 {
		t.Errorf("f007: got attrs %+v, want size 3 mode 0100640", e.Attrs)
	}
	if !strings.HasPrefix(e.LongName, "-rw-r-----    1 ") || !strings.HasSuffix(e.LongName, " f007") {
		t.Errorf("f007: got long name %q, want an ls -l line", e.LongName)
	}
	root := c.listDir("/")
	rootAttrs := c.stat("/")
	if got := root[".."].Attrs; !reflect.DeepEqual(got, root["."].Attrs) || got.Permissions != rootAttrs.Permissions {
		t.Errorf("root's ..: got %+v, want the root's own %+v", got, rootAttrs)
	}
}

// TestReadWrite checks short reads at the end of the file, EOF after it,
// writes at offsets, and APPEND.
func TestReadWrite(t *testing.T) {
	c, dir := startSession(t, Options{})
	h := c.open("/f", OpenRead|OpenWrite|OpenCreat, Attrs{})
	c.ok(&Write{ID: c.nextID(), Handle: h, Offset: 5, Data: []byte("world")})
	c.ok(&Write{ID: c.nextID(), Handle: h, Offset: 0, Data: []byte("hello")})
	r := c.call(&Read{ID: c.nextID(), Handle: h, Offset: 3, Len: 100})
	if d, ok := r.(*Data); !ok || string(d.Data) != "loworld" {
		t.Errorf("read at 3: got %#v, want %q", r, "loworld")
	}
	if code := c.status(&Read{ID: c.nextID(), Handle: h, Offset: 10, Len: 100}); code != StatusEOF {
		t.Errorf("read at the end: got status %d, want EOF", code)
	}
	r = c.call(&Read{ID: c.nextID(), Handle: h, Offset: 0, Len: 1 << 20})
	if d, ok := r.(*Data); !ok || len(d.Data) != 10 {
		t.Errorf("read of 1 MiB: got %#v, want the 10 bytes", r)
	}
	a := c.open("/f", OpenWrite|OpenAppend, Attrs{})
	c.ok(&Write{ID: c.nextID(), Handle: a, Offset: 0, Data: []byte("!")})
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "helloworld!" {
		t.Errorf("after an APPEND write at 0: got %q, want %q", b, "helloworld!")
	}
	if code := c.status(&Write{ID: c.nextID(), Handle: c.open("/f", OpenRead, Attrs{}), Data: []byte("x")}); code == StatusOK {
		t.Error("write on a read-only handle: got OK, want an error")
	}
}

// TestPathOps checks REMOVE, RMDIR, RENAME (never over an existing file),
// REALPATH and SETSTAT's size and mode.
func TestPathOps(t *testing.T) {
	c, dir := startSession(t, Options{})
	os.WriteFile(filepath.Join(dir, "a"), []byte("aaaa"), 0o644)
	os.WriteFile(filepath.Join(dir, "b"), []byte("b"), 0o644)
	if code := c.status(&TwoPaths{T: TypeRename, ID: c.nextID(), A: "/a", B: "/b"}); code != StatusFailure {
		t.Errorf("rename onto an existing file: got status %d, want FAILURE", code)
	}
	c.ok(&TwoPaths{T: TypeRename, ID: c.nextID(), A: "/a", B: "/c"})
	c.ok(&PathAttrs{T: TypeSetstat, ID: c.nextID(), Path: "/c", Attrs: Attrs{Flags: AttrSize | AttrPermissions, Size: 2, Permissions: 0o600}})
	if a := c.stat("/c"); a.Size != 2 || a.Permissions != 0o100600 {
		t.Errorf("after setstat: got %+v, want size 2 mode 0100600", a)
	}
	c.ok(&PathReq{T: TypeRemove, ID: c.nextID(), Path: "/c"})
	c.ok(&PathAttrs{T: TypeMkdir, ID: c.nextID(), Path: "/d"})
	c.ok(&PathReq{T: TypeRmdir, ID: c.nextID(), Path: "/d"})
	if code := c.status(&PathReq{T: TypeStat, ID: c.nextID(), Path: "/d"}); code != StatusNoSuchFile {
		t.Errorf("stat after rmdir: got status %d, want NO_SUCH_FILE", code)
	}
	for in, want := range map[string]string{".": "/", "": "/", "a/../b/./c": "/b/c", "/../..": "/", "x/": "/x"} {
		r := c.call(&PathReq{T: TypeRealpath, ID: c.nextID(), Path: in})
		if n, ok := r.(*Name); !ok || n.Entries[0].Name != want {
			t.Errorf("realpath %q: got %#v, want %q", in, r, want)
		}
	}
}

// TestMaxHandles checks the session's handle limit.
func TestMaxHandles(t *testing.T) {
	c, dir := startSession(t, Options{MaxHandles: 2})
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	h := c.open("/f", OpenRead, Attrs{})
	c.open("/", OpenRead, Attrs{})
	if code := c.status(&PathReq{T: TypeOpendir, ID: c.nextID(), Path: "/"}); code != StatusFailure {
		t.Errorf("third handle: got status %d, want FAILURE", code)
	}
	r := c.call(&Open{ID: c.nextID(), Path: "/new", PFlags: OpenWrite | OpenCreat})
	if s, ok := r.(*Status); !ok || s.Message != "too many open handles (limit 2)" {
		t.Errorf("create past the limit: got %#v, want FAILURE: too many open handles (limit 2)", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Errorf("create past the limit: got %v, want no file made", err)
	}
	c.ok(&HandleReq{T: TypeClose, ID: c.nextID(), Handle: h})
	c.open("/f", OpenRead, Attrs{})
}
