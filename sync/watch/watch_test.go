package watch

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

func start(t *testing.T, o Options) (*Watcher, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	w, err := New(r, "", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dir
}

// collect gathers events until want reports it has what it needs, or
// fails the test after the deadline.
func collect(t *testing.T, w *Watcher, d time.Duration, want func([]Event) bool) []Event {
	t.Helper()
	var all []Event
	deadline := time.After(d)
	for !want(all) {
		select {
		case b, ok := <-w.Events():
			if !ok {
				t.Fatalf("events closed: %v", w.Err())
			}
			all = append(all, b...)
		case <-deadline:
			t.Fatalf("after %v: got %+v", d, all)
		}
	}
	return all
}

func has(evs []Event, p string, subtree bool) bool {
	return slices.Contains(evs, Event{Path: p, Subtree: subtree})
}

// quietFor asserts no event comes for d.
func quietFor(t *testing.T, w *Watcher, d time.Duration) {
	t.Helper()
	select {
	case b := <-w.Events():
		t.Fatalf("unexpected events %+v", b)
	case <-time.After(d):
	}
}

func TestFileClosed(t *testing.T) {
	w, dir := start(t, Options{Quiet: time.Hour})
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		f.Write([]byte("part "))
	}
	quietFor(t, w, 200*time.Millisecond) // open for writing: nothing yet
	f.Close()
	evs := collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "f", false) })
	if len(evs) != 1 {
		t.Errorf("one written file gave %+v", evs)
	}
}

func TestQuietWriter(t *testing.T) {
	w, dir := start(t, Options{Quiet: 300 * time.Millisecond})
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("line\n"))
	start := time.Now()
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "log", false) })
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("reported after %v, before the quiet period", time.Since(start))
	}
}

func TestTree(t *testing.T) {
	w, dir := start(t, Options{Exclude: func(p string, _ bool) bool { return strings.HasSuffix(p, ".tmp") }})
	// mkdir -p and files at once: the new directory is a Subtree.
	os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755)
	os.WriteFile(filepath.Join(dir, "a/b/c/f"), []byte("x"), 0o644)
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "a", true) })
	// The new directories are watched: a later file is reported.
	os.WriteFile(filepath.Join(dir, "a/b/c/g"), []byte("x"), 0o644)
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "a/b/c/g", false) })
	// Excluded names are not reported.
	os.WriteFile(filepath.Join(dir, "a/x.tmp"), []byte("x"), 0o644)
	quietFor(t, w, 200*time.Millisecond)
	// A directory renamed inside: both names, and later events carry
	// the new one.
	os.Rename(filepath.Join(dir, "a/b"), filepath.Join(dir, "a/B"))
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "a/b", true) && has(e, "a/B", true) })
	os.WriteFile(filepath.Join(dir, "a/B/c/h"), []byte("x"), 0o644)
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "a/B/c/h", false) })
	// A tree moved in from outside.
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, "in/deep"), 0o755)
	os.WriteFile(filepath.Join(out, "in/deep/f"), []byte("x"), 0o644)
	if err := os.Rename(filepath.Join(out, "in"), filepath.Join(dir, "in")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "in", true) })
	os.WriteFile(filepath.Join(dir, "in/deep/g"), []byte("x"), 0o644)
	collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "in/deep/g", false) })
	// rm -rf, a symlink, a chmod.
	os.RemoveAll(filepath.Join(dir, "a"))
	os.Symlink("/etc", filepath.Join(dir, "l"))
	os.Chmod(filepath.Join(dir, "in/deep/g"), 0o600)
	collect(t, w, 5*time.Second, func(e []Event) bool {
		return has(e, "a", true) && has(e, "l", false) && has(e, "in/deep/g", false)
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.Events(); ok {
		t.Error("events still open after Close")
	}
}

// TestNoSymlinks: a directory link (to outside the tree) is never watched.
func TestNoSymlinks(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	os.Symlink(outside, filepath.Join(dir, "out"))
	r, _ := rootfs.Open(dir)
	defer r.Close()
	w, err := New(r, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(w.wds) != 1 {
		t.Errorf("watches: %v", w.wds)
	}
	os.WriteFile(filepath.Join(outside, "f"), []byte("x"), 0o644)
	quietFor(t, w, 300*time.Millisecond)
}

// TestWatchLimit runs the limit path with real inotify and an injected
// ENOSPC after the first watch: the unwatched directory is reported every
// RescanEvery.
func TestWatchLimit(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "big/sub"), 0o755)
	r, _ := rootfs.Open(dir)
	defer r.Close()
	n := 0
	w, err := New(r, "", Options{RescanEvery: 100 * time.Millisecond, addWatch: func(fd int, p string, m uint32) (int, error) {
		n++
		if n > 1 {
			return 0, unix.ENOSPC
		}
		return unix.InotifyAddWatch(fd, p, m)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	evs := collect(t, w, 5*time.Second, func(e []Event) bool { return has(e, "big", true) })
	if !w.warned {
		t.Error("no warning about the limit")
	}
	_ = evs
}

func TestParse(t *testing.T) {
	var b []byte
	rec := func(wd int32, mask uint32, name string, pad int) {
		h := make([]byte, 16)
		binary.NativeEndian.PutUint32(h[0:], uint32(wd))
		binary.NativeEndian.PutUint32(h[4:], mask)
		binary.NativeEndian.PutUint32(h[8:], 7)
		binary.NativeEndian.PutUint32(h[12:], uint32(len(name)+pad))
		b = append(append(b, h...), append([]byte(name), make([]byte, pad)...)...)
	}
	rec(1, unix.IN_CREATE, "a", 3)
	rec(2, unix.IN_Q_OVERFLOW, "", 0)
	evs, err := parse(b)
	if err != nil || len(evs) != 2 || evs[0] != (rawEvent{1, unix.IN_CREATE, 7, "a"}) || evs[1].mask != unix.IN_Q_OVERFLOW {
		t.Errorf("parse = %+v, %v", evs, err)
	}
	if _, err := parse(b[:len(b)-3]); err == nil {
		t.Error("a truncated buffer parsed")
	}
}

// TestOverflow feeds an overflow through the handler: the whole tree is
// reported.
func TestOverflow(t *testing.T) {
	w, _ := start(t, Options{})
	var got []Event
	w.handle(rawEvent{wd: -1, mask: unix.IN_Q_OVERFLOW}, func(p string, s bool) { got = append(got, Event{p, s}) })
	if len(got) != 1 || got[0] != (Event{"", true}) {
		t.Errorf("overflow: %+v", got)
	}
}
