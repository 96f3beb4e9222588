//go:build bench

package server_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// treeEntry is what treeDiff compares of one path below a tree's root.
type treeEntry struct {
	mode fs.FileMode
	size int64
	hash [sha256.Size]byte // of a regular file's content
}

// treeOf returns the entries below root (root itself excluded: its
// mode is the destination's, made by the benchmark), by relative path.
func treeOf(root string) (map[string]treeEntry, error) {
	m := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		e := treeEntry{mode: info.Mode()}
		if info.Mode().IsRegular() {
			e.size = info.Size()
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("hashing %s: %w", p, err)
			}
			copy(e.hash[:], h.Sum(nil))
		}
		m[rel] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	return m, nil
}

// treeDiff returns an error naming the first few differences between the
// trees at a and b in paths, types and modes, sizes and contents, or nil
// when they hold the same.
func treeDiff(a, b string) error {
	ta, err := treeOf(a)
	if err != nil {
		return err
	}
	tb, err := treeOf(b)
	if err != nil {
		return err
	}
	var diffs []string
	for p, ea := range ta {
		eb, ok := tb[p]
		switch {
		case !ok:
			diffs = append(diffs, p+": missing in "+b)
		case ea.mode != eb.mode:
			diffs = append(diffs, fmt.Sprintf("%s: mode %v, want %v", p, eb.mode, ea.mode))
		case ea.size != eb.size:
			diffs = append(diffs, fmt.Sprintf("%s: size %d, want %d", p, eb.size, ea.size))
		case ea.hash != eb.hash:
			diffs = append(diffs, p+": content differs")
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			diffs = append(diffs, p+": not in "+a)
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	slices.Sort(diffs)
	return fmt.Errorf("%s differs from %s in %d paths: %v", b, a, len(diffs), diffs[:min(len(diffs), 5)])
}

// sameTree fails t unless the trees at a and b hold the same.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	if err := treeDiff(a, b); err != nil {
		t.Fatal(err)
	}
}

func TestTreeDiff(t *testing.T) {
	cases := []struct {
		name   string
		change func(dst string) error
		same   bool
	}{
		{"copy", func(string) error { return nil }, true},
		{"content", func(d string) error { return os.WriteFile(filepath.Join(d, "s", "f"), []byte("hellO"), 0o644) }, false},
		{"size", func(d string) error { return os.WriteFile(filepath.Join(d, "s", "f"), []byte("hello!"), 0o644) }, false},
		{"mode", func(d string) error { return os.Chmod(filepath.Join(d, "s", "f"), 0o600) }, false},
		{"dir mode", func(d string) error { return os.Chmod(filepath.Join(d, "s"), 0o700) }, false},
		{"missing", func(d string) error { return os.Remove(filepath.Join(d, "g")) }, false},
		{"extra", func(d string) error { return os.WriteFile(filepath.Join(d, "h"), nil, 0o644) }, false},
		{"file for dir", func(d string) error {
			os.RemoveAll(filepath.Join(d, "s"))
			return os.WriteFile(filepath.Join(d, "s"), nil, 0o755)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			for _, d := range []string{a, b} {
				os.Mkdir(filepath.Join(d, "s"), 0o755)
				os.WriteFile(filepath.Join(d, "s", "f"), []byte("hello"), 0o644)
				os.WriteFile(filepath.Join(d, "g"), []byte("x"), 0o644)
			}
			if err := c.change(b); err != nil {
				t.Fatal(err)
			}
			err := treeDiff(a, b)
			if got := err == nil; got != c.same {
				t.Errorf("same: got %v (%v), want %v", got, err, c.same)
			}
		})
	}
}
