package holders

import (
	"slices"
	"strings"
	"testing"
)

func TestParseUnit(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0::/system.slice/nginx.service\n", "nginx.service"},
		{"0::/user.slice/user-1000.slice/session-2.scope\n", "session-2.scope"},
		{"0::/system.slice/docker-abc.scope/init\n", "docker-abc.scope"},
		{"0::/system.slice/foo.service/sub.service\n", "sub.service"},
		{"12:pids:/x\n1:name=systemd:/system.slice/cron.service\n0::/\n", "cron.service"},
		{"0::/\n", ""},
		{"0::/init.scope", "init.scope"},
		{"1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n", "b.service"},
		{"0::/system.slice/b.service\n1:name=systemd:/system.slice/a.service\n", "b.service"},
		{"garbage\n3:cpu\n", ""},
		{"", ""},
	} {
		if got := parseUnit([]byte(tc.in)); got != tc.want {
			t.Errorf("parseUnit(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMaps(t *testing.T) {
	in := "7f00-7f01 r--p 00000000 fd:01 12 /srv/lib with space.so\n" +
		"7f01-7f02 r-xp 00001000 fd:01 12 /srv/lib with space.so\n" +
		"7f02-7f03 rw-p 00000000 00:00 0 \n" +
		"7f03-7f04 rw-s 00000000 00:01 99 /memfd:x (deleted)\n" +
		"bad line\n"
	got := parseMaps([]byte(in), nil)
	want := []mapEntry{{Dev{253, 1}, "/srv/lib with space.so"}, {Dev{0, 1}, "/memfd:x (deleted)"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got = parseMaps([]byte(in), func(d Dev, _, _ uint64) (Dev, bool) { return d, d == Dev{0, 1} })
	if !slices.Equal(got, want[1:]) {
		t.Errorf("filtered: got %+v, want %+v", got, want[1:])
	}
	// The keeper gets each mapping's range and may name another device,
	// as for a mapped device node.
	got = parseMaps([]byte(in), func(d Dev, start, end uint64) (Dev, bool) {
		return Dev{7, uint32(start)}, start == 0x7f03 && end == 0x7f04
	})
	if want := []mapEntry{{Dev{7, 0x7f03}, "/memfd:x (deleted)"}}; !slices.Equal(got, want) {
		t.Errorf("re-mapped: got %+v, want %+v", got, want)
	}
}

func TestParseSmall(t *testing.T) {
	if got, err := parseStartTime([]byte("42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 20")); err != nil || got != 777 {
		t.Errorf("parseStartTime: got %d, %v; want 777", got, err)
	}
	if got, err := parsePPID([]byte("42 (a) b) S 7 42 42")); err != nil || got != 7 {
		t.Errorf("parsePPID: got %d, %v; want 7", got, err)
	}
	if _, err := parseStartTime([]byte("42 (x) S 1")); err == nil {
		t.Error("parseStartTime of a short line: got no error")
	}
	if got, err := parseNS("mnt:[4026531841]"); err != nil || got != 4026531841 {
		t.Errorf("parseNS: got %d, %v; want 4026531841", got, err)
	}
	if got, err := parseUID([]byte("Name:\tx\nUid:\t1000\t0\t0\t0\n")); err != nil || got != 1000 {
		t.Errorf("parseUID: got %d, %v; want 1000", got, err)
	}
	if got := parseCmdline([]byte("sleep\x00100\x00"), "sleep\n"); got != "sleep 100" {
		t.Errorf("parseCmdline: got %q, want \"sleep 100\"", got)
	}
	if got := parseCmdline(nil, "kworker/0\n"); got != "[kworker/0]" {
		t.Errorf("parseCmdline of a kernel thread: got %q, want \"[kworker/0]\"", got)
	}
	if got := cleanLink("/a/b (deleted)"); got != "/a/b" {
		t.Errorf("cleanLink: got %q, want /a/b", got)
	}
	if got := cleanLink("socket:[1]"); got != "" {
		t.Errorf("cleanLink of a socket: got %q, want \"\"", got)
	}
}

func TestTable(t *testing.T) {
	es, err := parseMountinfo(strings.NewReader(
		"1 0 8:0 / / rw - ext4 /dev/sda rw\n" +
			"2 1 253:0 / /mnt rw - ext4 /dev/dm-0 rw\n" +
			"3 2 0:40 / /mnt/sub rw - tmpfs t rw\n" +
			"4 1 0:41 / /mnt/x\\040y rw - fuse.sshfs h:/ rw\n"))
	if err != nil {
		t.Fatal(err)
	}
	tb := newTable(1, es)
	for _, tc := range []struct{ path, want string }{
		{"/mnt/a/b", "253:0"}, {"/mnt", "253:0"}, {"/mnt/sub/f", "0:40"}, {"/mntx", "8:0"},
		{"/", "8:0"}, {"/mnt/x y/z", "0:41"},
	} {
		m, ok := tb.lookup(tc.path)
		if !ok || m.dev.String() != tc.want {
			t.Errorf("lookup(%s): got %s %v, want %s", tc.path, m.dev, ok, tc.want)
		}
	}
	devs := map[Dev]bool{{253, 0}: true}
	if tb.hidden(devs) {
		t.Error("hidden: got true for a table where /mnt is on top")
	}
	over := newTable(1, append(es, mountEntry{id: 5, parent: 1, dev: Dev{0, 42}, mountPoint: "/mnt", fstype: "tmpfs"}))
	if !over.hidden(devs) {
		t.Error("hidden: got false after a tmpfs was mounted over /mnt")
	}
	if !slowFS("fuse.sshfs") || !slowFS("nfs4") || slowFS("ext4") {
		t.Error("slowFS: fuse.sshfs and nfs4 must be slow, ext4 not")
	}
}
