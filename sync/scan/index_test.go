package scan

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// indexedWalk walks p with the index last (nil: none) and returns the
// entries, the counts, the new index (empty when unchanged: nothing is
// written then) and whether it changed.
func indexedWalk(t *testing.T, s *Scanner, p string, last []byte) ([]Entry, Summary, []byte, bool) {
	t.Helper()
	var out bytes.Buffer
	ix := NewIndex(s.opt.Hasher.Name(), bytes.NewReader(last), int64(len(last)), func() (io.Writer, error) { return &out, nil })
	var got []Entry
	sum, err := s.WalkIndexed(p, ix, func(e *Entry) error {
		got = append(got, *e)
		return nil
	})
	must(t, err)
	changed, err := ix.Finish()
	must(t, err)
	return got, sum, out.Bytes(), changed
}

// hashes maps each file's path to its hash.
func hashes(es []Entry) map[string][32]byte {
	m := map[string][32]byte{}
	for _, e := range es {
		if e.Kind == File {
			m[e.Path] = e.Hash
		}
	}
	return m
}

// TestIndexWalk walks a tree of several directories (more files than a
// chunk) with an index: the second walk takes every hash from it and reads
// no attribute, its index is unchanged, and each kind of change is seen.
func TestIndexWalk(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]string{"a/": "", "a-b": "x", "z": "zz", "a/sub/deep": "d", "l": "->a"}
	for i := range 300 {
		spec[fmt.Sprintf("a/f%03d", i)] = fmt.Sprintf("content %d", i)
	}
	tree(t, dir, spec)
	aged(t, filepath.Join(dir, "a/f299"), testRacy)
	s := newScanner(t, dir, Options{RacyWindow: testRacy, NoCache: true})
	plain, _ := walk(t, s, "")

	first, sum, ix1, changed := indexedWalk(t, s, "", nil)
	if sum.IndexHits != 0 || sum.Hashed != 303 || !changed {
		t.Fatalf("first walk: got %d index hits, %d hashed, changed %v; want 0, 303, true", sum.IndexHits, sum.Hashed, changed)
	}
	second, sum, ix2, changed := indexedWalk(t, s, "", ix1)
	if sum.IndexHits != 303 || sum.Hashed != 0 || changed || len(ix2) != 0 {
		t.Fatalf("second walk: got %d index hits, %d hashed, changed %v, %d bytes written; want 303, 0, false and none", sum.IndexHits, sum.Hashed, changed, len(ix2))
	}
	ix2 = ix1
	for name, es := range map[string][]Entry{"first": first, "second": second} {
		if fmt.Sprint(es) != fmt.Sprint(plain) {
			t.Errorf("%s indexed walk: got %v, want %v", name, paths(es), paths(plain))
		}
	}
	// A walk with the attribute cache on reads no attribute of a file the
	// index has.
	sc := newScanner(t, dir, Options{RacyWindow: testRacy})
	_, sum, _, _ = indexedWalk(t, sc, "", ix1)
	if x := sc.workers[0].xattrs; sum.IndexHits != 303 || x != 0 {
		t.Errorf("with the cache: got %d index hits and %d attribute calls; want 303 and 0", sum.IndexHits, x)
	}

	// Same size, mtime set back: only ctime tells. A rename onto a file
	// with the same size and mtime: a new inode. A deleted file.
	f := filepath.Join(dir, "a/f100")
	var st unix.Stat_t
	must(t, unix.Lstat(f, &st))
	must(t, os.WriteFile(f, []byte("CONTENT 100"[:len("content 100")]), 0o644))
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, f, []unix.Timespec{st.Atim, st.Mtim}, 0))
	g, tmp := filepath.Join(dir, "a/f200"), filepath.Join(dir, "tmp")
	must(t, unix.Lstat(g, &st))
	must(t, os.WriteFile(tmp, []byte("CONTENT 200"), 0o644))
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, tmp, []unix.Timespec{st.Atim, st.Mtim}, 0))
	must(t, os.Rename(tmp, g))
	must(t, os.Remove(filepath.Join(dir, "a/f000")))
	third, sum, ix3, changed := indexedWalk(t, s, "", ix2)
	h := hashes(third)
	if h["a/f100"] != sha256.Sum256([]byte("CONTENT 100")) || h["a/f200"] != sha256.Sum256([]byte("CONTENT 200")) {
		t.Errorf("changed files: got %x, %x; want the new contents' hashes", h["a/f100"], h["a/f200"])
	}
	if sum.IndexHits != 300 || sum.Hashed != 2 || !changed {
		t.Errorf("after changes: got %d index hits, %d hashed, changed %v; want 300, 2, true", sum.IndexHits, sum.Hashed, changed)
	}
	// Just changed (racy): not remembered, so hashed again next time.
	_, sum, _, _ = indexedWalk(t, s, "", ix3)
	if sum.IndexHits != 300 || sum.Hashed != 2 {
		t.Errorf("racy files: got %d index hits, %d hashed; want 300, 2", sum.IndexHits, sum.Hashed)
	}
}

// TestIndexDamaged checks that a damaged, truncated or foreign index is
// not used, and that the walk's hashes are right all the same.
func TestIndexDamaged(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a": "1", "b": "2", "d/c": "3"})
	aged(t, filepath.Join(dir, "d/c"), testRacy)
	s := newScanner(t, dir, Options{RacyWindow: testRacy, NoCache: true})
	plain, _ := walk(t, s, "")
	_, _, ix, _ := indexedWalk(t, s, "", nil)
	// A record with another hash for a: a hit would report it.
	forged := bytes.Clone(ix)
	i := bytes.Index(forged, []byte{1, 'a'})
	if i < 0 {
		t.Fatal("record of a not found in the index")
	}
	forged[i+2+40] ^= 1
	other := bytes.Clone(ix)
	copy(other[6:], "sha257")
	for name, last := range map[string][]byte{
		"damaged block": forged,
		"truncated":     ix[:len(ix)-3],
		"table only":    ix[len(ix)/2:],
		"other hasher":  other,
		"garbage":       bytes.Repeat([]byte{0xff}, 100),
	} {
		got, sum, _, changed := indexedWalk(t, s, "", last)
		if fmt.Sprint(got) != fmt.Sprint(plain) {
			t.Errorf("%s: got %v, want %v", name, got, plain)
		}
		if want := 3; name != "damaged block" && (sum.IndexHits != 0 || !changed) {
			t.Errorf("%s: got %d index hits, changed %v; want 0 of %d, true", name, sum.IndexHits, changed, want)
		}
		if name == "damaged block" && sum.IndexHits != 1 {
			t.Errorf("%s: got %d index hits; want 1 (d/c, in another block)", name, sum.IndexHits)
		}
	}
}

// TestIndexSubtree walks a subtree with its own index.
func TestIndexSubtree(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"top": "t", "p/a": "1", "p/q/b": "2"})
	aged(t, filepath.Join(dir, "p/q/b"), testRacy)
	s := newScanner(t, dir, Options{RacyWindow: testRacy, NoCache: true})
	_, _, ix, _ := indexedWalk(t, s, "p", nil)
	got, sum, _, changed := indexedWalk(t, s, "p", ix)
	if sum.IndexHits != 2 || changed || paths(got) != "p p/a p/q p/q/b" {
		t.Errorf("got %d hits, changed %v, %s; want 2, false, p p/a p/q p/q/b", sum.IndexHits, changed, paths(got))
	}
}

// TestIndexWithCache walks with the attribute cache on: the first walk
// hashes and stores the attributes (which sets the files' ctimes), and the
// index it writes has the ctimes after that, so the next walk reads no
// attribute at all.
func TestIndexWithCache(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a": "1", "b": "2", "d/c": "3"})
	aged(t, filepath.Join(dir, "d/c"), testRacy)
	s := newScanner(t, dir, Options{RacyWindow: testRacy})
	_, sum, ix, _ := indexedWalk(t, s, "", nil)
	if sum.Hashed != 3 || sum.CacheStored != 3 {
		t.Fatalf("first walk: got %d hashed, %d stored; want 3, 3", sum.Hashed, sum.CacheStored)
	}
	s.workers[0].xattrs = 0
	_, sum, _, changed := indexedWalk(t, s, "", ix)
	if sum.IndexHits != 3 || s.workers[0].xattrs != 0 || changed {
		t.Errorf("second walk: got %d index hits, %d attribute calls, changed %v; want 3, 0, false", sum.IndexHits, s.workers[0].xattrs, changed)
	}
}

// TestIndexCopied checks the index written when the last one's blocks all
// still hold but one is gone (a directory removed): nothing differs until
// the walk ends, so every block is copied from the last index; the next
// walk takes every hash from the copy and writes nothing.
func TestIndexCopied(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a/x": "1", "b/y": "2", "c/z": "3", "top": "4"})
	for _, f := range []string{"a/x", "b/y", "c/z", "top"} {
		aged(t, filepath.Join(dir, f), testRacy)
	}
	s := newScanner(t, dir, Options{RacyWindow: testRacy, NoCache: true})
	_, _, ix1, _ := indexedWalk(t, s, "", nil)
	must(t, os.RemoveAll(filepath.Join(dir, "b")))
	_, sum, ix2, changed := indexedWalk(t, s, "", ix1)
	if sum.IndexHits != 3 || !changed || len(ix2) == 0 || len(ix2) >= len(ix1) {
		t.Fatalf("after removing b: got %d index hits, changed %v, %d bytes (the last index %d); want 3, true, fewer", sum.IndexHits, changed, len(ix2), len(ix1))
	}
	got, sum, ix3, changed := indexedWalk(t, s, "", ix2)
	if sum.IndexHits != 3 || sum.Hashed != 0 || changed || len(ix3) != 0 {
		t.Errorf("from the copied index: got %d index hits, %d hashed, changed %v, %d bytes written; want 3, 0, false, 0", sum.IndexHits, sum.Hashed, changed, len(ix3))
	}
	if paths(got) != "a a/x c c/z top" {
		t.Errorf("got %s", paths(got))
	}
}
