package client

import (
	"os"
	"path/filepath"
	"testing"

	"simplecloud/sync/core"
)

// TestCount: the count of a folder's entries before a first scan is what
// the scan reports, the sync's temporary files (and all below a temporary
// directory) left out as the scan leaves them out.
func TestCount(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a/b/c", "e", core.TempPrefix + "tmpdir/x"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"f", "a/g", "a/b/h", "a/b/c/i", "e/j", core.TempPrefix + "put-1", "a/" + core.TempPrefix + "get-2", core.TempPrefix + "tmpdir/x/y"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("f", filepath.Join(dir, "s")); err != nil {
		t.Fatal(err)
	}
	l, err := openLocal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	got := l.count()
	tr, _, err := l.snapshot(map[string]bool{}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != tr.Len() || got != 10 {
		t.Errorf("got %d, want %d, the scan's, and 10", got, tr.Len())
	}
}
