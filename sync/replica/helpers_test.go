package replica

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
	"simplecloud/sync/seal"
)

// Known plaintexts of the test tree: none may appear in the bucket.
var secrets = []string{"quarterly-report-7f3a", "tax-return-secret", "the-secret-recipe-of-grandma", "linktarget-c0ffee", "Documents-9b1c"}

// makeTree writes a tree with a multi-chunk file (16 MiB), small and empty
// files, a subdirectory with its own mode, a symbolic link and old mtimes.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	big := make([]byte, 16<<20)
	r := rand.NewChaCha8([32]byte{7})
	r.Read(big)
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{"quarterly-report-7f3a.txt", []byte("the-secret-recipe-of-grandma: flour, sugar\n"), 0o640},
		{"Documents-9b1c/tax-return-secret.pdf", big, 0o600},
		{"Documents-9b1c/empty", nil, 0o644},
		{"script.sh", []byte("#!/bin/sh\necho the-secret-recipe-of-grandma\n"), 0o755},
	}
	if err := os.Mkdir(filepath.Join(dir, "Documents-9b1c"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("linktarget-c0ffee/../quarterly-report-7f3a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 2, 3, 4, 5, 6, 789, time.UTC)
	for _, p := range []string{"quarterly-report-7f3a.txt", "Documents-9b1c/tax-return-secret.pdf", "Documents-9b1c/empty", "script.sh", "Documents-9b1c"} {
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	setTimesT(t, filepath.Join(dir, "link"), old)
}

func setTimesT(t *testing.T, p string, tm time.Time) {
	t.Helper()
	if err := setTimes(p, tm.UnixNano(), true); err != nil {
		t.Fatal(err)
	}
}

// treeState describes every entry below dir (not dir itself): kind, mode,
// mtime, and content hash or link target.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		desc := fmt.Sprintf("mode=%o mtime=%d", st.Mode, st.Mtim.Nano())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			tgt, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + tgt
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" size=%d sha=%x", len(b), sha256.Sum256(b))
		}
		m[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openRoot(t *testing.T, dir string) *rootfs.Root {
	t.Helper()
	r, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func newKey(t *testing.T, b byte) *seal.Key {
	t.Helper()
	k, err := seal.NewKey(bytes32(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func bytes32(b byte) []byte {
	s := make([]byte, seal.KeySize)
	for i := range s {
		s[i] = b
	}
	return s
}
