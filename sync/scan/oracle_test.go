package scan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
	"simplecloud/sync/dirty"
	"simplecloud/sync/rootfs"
)

// groupOracle asks a real fanotify group in this process, as the server's
// child asks its parent's.
type groupOracle struct {
	g    *dirty.Group
	fsid [2]int32
	err  error // answer every question with this, when set
}

func (o *groupOracle) Changed(since dirty.Stamp, handles [][]byte) (dirty.Stamp, []bool, error) {
	if o.err != nil {
		return dirty.Stamp{}, nil, o.err
	}
	now, bits := o.g.Changed(since, o.fsid, handles)
	return now, bits, nil
}

func newGroupOracle(t *testing.T, root string) *groupOracle {
	t.Helper()
	g, err := dirty.Open(0, nil)
	if err != nil {
		t.Skipf("no fanotify here: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	fd, err := unix.Open(root, unix.O_PATH|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(fd)
	fsid, err := g.Mark(fd)
	if err != nil {
		t.Skipf("cannot mark %s: %v", root, err)
	}
	return &groupOracle{g: g, fsid: fsid}
}

// TestWalkOracle checks that a walk with an oracle reports the files of
// unchanged directories from the index without a stat, and still sees a
// file rewritten with its size and mtime kept.
func TestWalkOracle(t *testing.T) {
	dir := testutil.PrivateFS(t) // only this test's changes raise events
	spec := map[string]string{}
	for _, d := range []string{"a", "b", "c"} {
		for _, f := range []string{"1", "2", "3", "4"} {
			spec[d+"/"+f] = "content " + d + f
		}
	}
	spec["b/sub/x"] = "below"
	tree(t, dir, spec)
	// A hard link: a write through a/hl reports a, never c.
	must(t, os.Link(dir+"/c/1", dir+"/a/hl"))
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	o := newGroupOracle(t, dir)
	r, err := rootfs.Open(dir)
	must(t, err)
	defer r.Close()
	store := DirIndex{Path: filepath.Join(t.TempDir(), "index")}
	sc := New(r, Options{Hasher: sha{}, NoCache: true, RacyWindow: time.Millisecond, Oracle: o})
	time.Sleep(5 * time.Millisecond) // past the racy window
	walk := func() (Summary, map[string]Entry) {
		t.Helper()
		got := map[string]Entry{}
		sum, err := sc.WalkStored("", store, func(e *Entry) error {
			got[e.Path] = *e
			return nil
		})
		must(t, err)
		return sum, got
	}
	sum, first := walk()
	if sum.Reused != 0 || sum.Files != 14 {
		t.Fatalf("first walk: %d files, %d reused; want 14 and 0", sum.Files, sum.Reused)
	}
	sum, second := walk()
	if sum.Reused != 12 { // all but the two names of the hard link
		t.Fatalf("second walk of an unchanged tree: %d reused, want 12", sum.Reused)
	}
	for p, e := range first {
		if second[p] != e {
			t.Errorf("%s: reused entry %+v, stat'ed %+v", p, second[p], e)
		}
	}
	// Same size, mtime set back: only the event tells.
	must(t, os.WriteFile(dir+"/b/2", []byte("CONTENT b2"), 0o644))
	must(t, os.Chtimes(dir+"/b/2", old, old))
	time.Sleep(5 * time.Millisecond)
	sum, third := walk()
	if third["b/2"].Hash == second["b/2"].Hash {
		t.Fatal("a file rewritten with size and mtime kept is reported with its old hash")
	}
	if sum.Reused != 8 { // a, c and b/sub: b's own files are stat'ed
		t.Errorf("after a change in b: %d reused, want 8", sum.Reused)
	}
	// Through the hard link's other name: c hears nothing, c/1 is
	// stat'ed anyway.
	time.Sleep(5 * time.Millisecond)
	must(t, os.WriteFile(dir+"/a/hl", []byte("CONTENT c1"), 0o644))
	must(t, os.Chtimes(dir+"/a/hl", old, old))
	time.Sleep(5 * time.Millisecond)
	if _, fourth := walk(); fourth["c/1"].Hash == third["c/1"].Hash {
		t.Fatal("a hard link written through its other name is reported with its old hash")
	}
	// An oracle that cannot answer: every file stat'ed.
	o.err = errors.New("gone")
	if sum, _ := walk(); sum.Reused != 0 || sum.Files != 14 {
		t.Errorf("without an answer: %d files, %d reused; want 14 and 0", sum.Files, sum.Reused)
	}
	o.err = nil
	// The walk without an answer kept no stamp: the next one is full,
	// the one after trusts again.
	if sum, _ := walk(); sum.Reused != 0 {
		t.Errorf("answered again after a walk without: %d reused, want 0", sum.Reused)
	}
	if sum, _ := walk(); sum.Reused != 12 {
		t.Errorf("answered twice again: %d reused, want 12", sum.Reused)
	}
	// An index whose last full walk is over FullWalkEvery old: every file
	// stat'ed once (a write through a shared mmap raises no event).
	f, err := os.OpenFile(store.Path, os.O_RDWR, 0)
	must(t, err)
	fi, err := f.Stat()
	must(t, err)
	off := fi.Size() - int64(stampLen+trailerLen)
	b := make([]byte, stampLen)
	_, err = f.ReadAt(b, off)
	must(t, err)
	st := decodeStamp(b)
	if st.stamp.Epoch == 0 {
		t.Fatal("the index keeps no stamp")
	}
	st.full -= int64(FullWalkEvery + time.Minute)
	_, err = f.WriteAt(st.encode(), off)
	must(t, err)
	f.Close()
	if sum, _ := walk(); sum.Reused != 0 {
		t.Errorf("last full walk over an hour ago: %d reused, want 0", sum.Reused)
	}
	if sum, _ := walk(); sum.Reused != 12 {
		t.Errorf("after the full walk: %d reused, want 12", sum.Reused)
	}
	// Without an oracle (the client): every file stat'ed.
	plain := New(r, Options{Hasher: sha{}, NoCache: true, RacyWindow: time.Millisecond})
	sum, err = plain.WalkStored("", store, func(*Entry) error { return nil })
	must(t, err)
	if sum.Reused != 0 || sum.Files != 14 {
		t.Errorf("no oracle: %d files, %d reused; want 14 and 0", sum.Files, sum.Reused)
	}
}
