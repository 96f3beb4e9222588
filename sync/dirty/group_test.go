package dirty

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// openGroup makes a real group marking a private tmpfs of the test's own
// (on a shared file system, another process's hard link would count as
// "everything changed"), or skips without fanotify.
func openGroup(t *testing.T, maxDirs int) (*Group, [2]int32, string) {
	t.Helper()
	g, err := Open(maxDirs, nil)
	if err != nil {
		t.Skipf("no fanotify here: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	dir := testutil.PrivateFS(t)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	fsid, err := g.Mark(fd)
	if err != nil {
		t.Skipf("cannot mark %s: %v", dir, err)
	}
	return g, fsid, dir
}

func handleOf(t *testing.T, p string) []byte {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	h, err := Handle(fd)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGroupMarks checks, on a real fanotify group, that each kind of change
// marks the directories whose listing it changed, and only those.
func TestGroupMarks(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, d string)
		op    func(t *testing.T, d string)
		dirty []string // of a, b, c
		lost  bool     // everything counts as changed
	}{
		{name: "nothing", op: func(t *testing.T, d string) {}},
		{name: "create", op: func(t *testing.T, d string) { write(t, d+"/a/new", "x") }, dirty: []string{"a"}},
		{name: "write in place, size and mtime kept", op: func(t *testing.T, d string) {
			run(t, "sh", "-c", "printf y | dd of="+d+"/a/f conv=notrunc status=none && touch -d @1000000000 "+d+"/a/f")
		}, dirty: []string{"a"}},
		{name: "chmod", op: func(t *testing.T, d string) { os.Chmod(d+"/b/f", 0o600) }, dirty: []string{"b"}},
		{name: "rename within", op: func(t *testing.T, d string) { os.Rename(d+"/a/f", d+"/a/g") }, dirty: []string{"a"}},
		{name: "rename across", op: func(t *testing.T, d string) { os.Rename(d+"/a/f", d+"/b/g") }, dirty: []string{"a", "b"}},
		{name: "rename out", op: func(t *testing.T, d string) { os.Rename(d+"/a/f", filepath.Dir(d)+"/out-"+filepath.Base(d)) }, dirty: []string{"a"}},
		{name: "delete", op: func(t *testing.T, d string) { os.Remove(d + "/c/f") }, dirty: []string{"c"}},
		{name: "mkdir", op: func(t *testing.T, d string) { os.Mkdir(d+"/b/sub", 0o755) }, dirty: []string{"b"}},
		{name: "rmdir", setup: func(t *testing.T, d string) { os.Mkdir(d+"/b/sub", 0o755) },
			op: func(t *testing.T, d string) { os.Remove(d + "/b/sub") }, dirty: []string{"b"}},
		{name: "xattr", op: func(t *testing.T, d string) { unix.Setxattr(d+"/c/f", "user.x", []byte("1"), 0) }, dirty: []string{"c"}},
		{name: "truncate", op: func(t *testing.T, d string) { os.Truncate(d+"/a/f", 0) }, dirty: []string{"a"}},
		// A hard link made: the file's link count changes without naming
		// its first directory, and writes through the new name report
		// only the new one.
		{name: "hard link made", op: func(t *testing.T, d string) { os.Link(d+"/a/f", d+"/b/h") }, lost: true},
		{name: "rename over", op: func(t *testing.T, d string) { os.Rename(d+"/a/f", d+"/b/f") }, dirty: []string{"a", "b"}},
		// The link count goes down: a's record of f, made with two
		// links, is not trusted anyway (scan.indexRec.trusted).
		{name: "hard link's other name removed", setup: func(t *testing.T, d string) { os.Link(d+"/a/f", d+"/b/h") },
			op: func(t *testing.T, d string) { os.Remove(d + "/b/h") }, dirty: []string{"b"}},
		// Renamed over while open for writing, then written and closed:
		// the victim's old directory hears of it.
		{name: "victim of a rename written and closed", op: func(t *testing.T, d string) {
			f, err := os.OpenFile(d+"/b/f", os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			os.Rename(d+"/a/f", d+"/b/f")
			f.Write([]byte("late"))
			f.Close()
		}, dirty: []string{"a", "b"}},
		{name: "hard link written through the other dir",
			setup: func(t *testing.T, d string) { os.Link(d+"/a/f", d+"/b/h") },
			op:    func(t *testing.T, d string) { write(t, d+"/b/h", "other") }, dirty: []string{"b"}},
	}
	g, fsid, base := openGroup(t, 0)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(base, string(rune('a'+i)))
			names := []string{"a", "b", "c"}
			for _, n := range names {
				if err := os.MkdirAll(d+"/"+n, 0o755); err != nil {
					t.Fatal(err)
				}
				write(t, d+"/"+n+"/f", "content")
			}
			if tc.setup != nil {
				tc.setup(t, d)
			}
			var hs [][]byte
			for _, n := range names {
				hs = append(hs, handleOf(t, d+"/"+n))
			}
			since, _ := g.Changed(Stamp{}, fsid, nil)
			tc.op(t, d)
			now, bits := g.Changed(since, fsid, hs)
			if now.Gen < since.Gen || now.Epoch != since.Epoch {
				t.Fatalf("stamp went from %+v to %+v", since, now)
			}
			for j, n := range names {
				want := tc.lost
				for _, w := range tc.dirty {
					want = want || w == n
				}
				if bits[j] != want {
					t.Errorf("%s: changed = %v, want %v", n, bits[j], want)
				}
			}
			// And nothing since the stamp after.
			if _, bits := g.Changed(now, fsid, hs); bits[0] || bits[1] || bits[2] {
				t.Errorf("changed after the op's stamp: %v", bits)
			}
		})
	}
}

// TestGroupOverflowAndCap checks that a full book and a stamp of another
// epoch count as everything changed.
func TestGroupOverflowAndCap(t *testing.T) {
	g, fsid, d := openGroup(t, 4)
	os.Mkdir(d+"/keep", 0o755)
	h := handleOf(t, d+"/keep")
	since, _ := g.Changed(Stamp{}, fsid, nil)
	if _, bits := g.Changed(since, fsid, [][]byte{h}); bits[0] {
		t.Fatal("clean directory reported changed")
	}
	for i := range 6 {
		os.Mkdir(filepath.Join(d, "n", string(rune('a'+i))), 0o755)
		os.MkdirAll(filepath.Join(d, "m", string(rune('a'+i)), "x"), 0o755)
	}
	if _, bits := g.Changed(since, fsid, [][]byte{h}); !bits[0] {
		t.Fatal("past the cap, a directory without events is still clean")
	}
	now, _ := g.Changed(Stamp{}, fsid, nil)
	if _, bits := g.Changed(Stamp{Epoch: now.Epoch + 1, Gen: now.Gen}, fsid, [][]byte{h}); !bits[0] {
		t.Fatal("a stamp of another epoch counts as clean")
	}
	time.Sleep(10 * time.Millisecond)
}

// TestMarkRefuses checks that the group marks only local file systems, by
// a directory.
func TestMarkRefuses(t *testing.T) {
	g, _, d := openGroup(t, 0)
	for _, p := range []string{"/proc", "/sys", d + "/file"} {
		if p == d+"/file" {
			write(t, p, "x")
		}
		fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Mark(fd); err == nil {
			t.Errorf("%s: marked", p)
		}
		unix.Close(fd)
	}
}
