package scan

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/sync/dirty"
)

// stillOracle says that no directory changed, whatever happened: the
// tests' way to have a walk trust every directory it has handles of.
type stillOracle struct{ gen uint64 }

func (o *stillOracle) Changed(_ dirty.Stamp, handles [][]byte) (dirty.Stamp, []bool, error) {
	o.gen++
	return dirty.Stamp{Epoch: 1, Gen: o.gen}, make([]bool, len(handles)), nil
}

// TestWalkStoppedLeavesNothingStale checks that a walk stopped by its
// callback leaves nothing in the buffers the next walk makes its entries
// in: a file of a trusted directory that the index has no record of is
// stat'ed and hashed, never reported with the record of a file that the
// stopped walk had made at the same place (a Scanner's walks share their
// buffers).
func TestWalkStoppedLeavesNothingStale(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"x/a": "first", "x/m": "the middle one", "y/a": "ya", "y/n": "new file", "y/z": "yz"})
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	// An mtime ahead of the clock is always within the racy window: the
	// index never records y/n.
	future := time.Now().Add(time.Hour)
	must(t, os.Chtimes(filepath.Join(dir, "y/n"), future, future))
	store := DirIndex{Path: filepath.Join(t.TempDir(), "index")}
	sc := newScanner(t, dir, Options{NoCache: true, RacyWindow: time.Millisecond, Oracle: &stillOracle{}})
	time.Sleep(5 * time.Millisecond) // past the racy window
	_, err := sc.WalkStored("", store, func(*Entry) error { return nil })
	must(t, err)
	// A new scanner, whose only buffer is the stopped walk's: stopped at
	// x/a (after x itself), where x/m, in the second place, was made
	// with its record, and not reported.
	sc = newScanner(t, dir, Options{NoCache: true, RacyWindow: time.Millisecond, Oracle: &stillOracle{}})
	stop := errors.New("stop")
	calls := 0
	_, err = sc.WalkStored("x", store, func(*Entry) error {
		if calls++; calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("stopped walk: %v, want the callback's error", err)
	}
	// y/n takes the second place of y's chunk.
	got := map[string]Entry{}
	sum, err := sc.WalkStored("y", store, func(e *Entry) error {
		got[e.Path] = *e
		return nil
	})
	must(t, err)
	if sum.Reused != 2 {
		t.Errorf("%d files reused, want 2 (y/a and y/z)", sum.Reused)
	}
	n := got["y/n"]
	if want := sha256.Sum256([]byte("new file")); n.Hash != want || n.Size != int64(len("new file")) {
		t.Errorf("y/n reported with size %d and hash %x, want %d and %x", n.Size, n.Hash[:4], len("new file"), want[:4])
	}
}

// TestWalkPoolAhead walks many directories of files enough for the pool,
// with several workers: the walker lists the next directories while the
// pool makes the files of the last ones, in buffers the walk reuses, and
// still every file comes with its own path, size and hash, in order.
func TestWalkPoolAhead(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]string{}
	var want []string
	for d := range 40 {
		name := fmt.Sprintf("d%02d", d)
		want = append(want, name)
		for f := range 60 - d { // fewer each time: each listing fits in the last one's buffer
			p := fmt.Sprintf("%s/f%03d", name, f)
			spec[p] = strings.Repeat(p, 1+f%3)
			want = append(want, p)
		}
	}
	tree(t, dir, spec)
	for _, workers := range []int{2, 3} {
		sc := newScanner(t, dir, Options{Workers: workers, NoCache: true})
		for range 2 { // the second walk in the first one's buffers
			got, _ := walk(t, sc, "")
			if paths(got) != strings.Join(want, " ") {
				t.Fatalf("%d workers: got %q, want %q", workers, paths(got), strings.Join(want, " "))
			}
			for _, e := range got {
				if c := spec[e.Path]; e.Kind == File && (e.Hash != sha256.Sum256([]byte(c)) || e.Size != int64(len(c))) {
					t.Fatalf("%d workers: %s: size %d and the hash of another file", workers, e.Path, e.Size)
				}
			}
		}
	}
}
