package scan

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
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
// stopped walk had made at the same place (the walks keep a directory's
// buffers for the next directory at its depth).
func TestWalkStoppedLeavesNothingStale(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a": "first", "m": "the middle one", "y/a": "ya", "y/n": "new file", "y/z": "yz"})
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
	// Stopped at its first entry: the root's other files ("m" in the
	// second place) were made, with their records, and not reported.
	stop := errors.New("stop")
	_, err = sc.WalkStored("", store, func(*Entry) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("stopped walk: %v, want the callback's error", err)
	}
	// y walked on its own takes the root's depth, and y/n the second
	// place there.
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
