package versions

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

func newStore(t *testing.T, p Policy) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return Open(r.Strict(), p, nil), dir
}

func write(t *testing.T, p, data string, mode os.FileMode, mtime time.Time) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestKeepListReturn(t *testing.T) {
	s, dir := newStore(t, DefaultPolicy())
	now := time.Date(2026, 12, 5, 3, 15, 0, 0, time.UTC)
	mt := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	write(t, filepath.Join(dir, "d", "a.txt"), "one", 0o640, mt)
	v1, err := s.Keep("d/a.txt", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "d", "a.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Keep left the file in place: %v", err)
	}
	want := Version{ID: "d/a~20261205-031500.txt", Path: "d/a.txt", Kept: now, Kind: KindFile, Size: 3, Mtime: mt.UnixNano(), Mode: 0o640}
	if v1 != want {
		t.Errorf("Keep = %+v, want %+v", v1, want)
	}
	st, _ := os.Stat(filepath.Join(dir, ".simplecloud"))
	if st == nil || st.Mode().Perm() != 0o700 {
		t.Errorf(".simplecloud mode: %v, want 0700", st)
	}
	// A second version in the same second gets another name; KeepCopy
	// leaves the file.
	write(t, filepath.Join(dir, "d", "a.txt"), "two!", 0o644, mt)
	v2, err := s.KeepCopy("d/a.txt", now)
	if err != nil {
		t.Fatal(err)
	}
	if v2.ID != "d/a~20261205-031500-1.txt" || v2.Size != 4 {
		t.Errorf("KeepCopy = %+v", v2)
	}
	// Replacing the original leaves the version's content.
	write(t, filepath.Join(dir, "d", "a.new"), "three", 0o644, mt)
	os.Rename(filepath.Join(dir, "d", "a.new"), filepath.Join(dir, "d", "a.txt"))
	if b, _ := os.ReadFile(filepath.Join(dir, Dir, v2.ID)); string(b) != "two!" {
		t.Errorf("version after replace holds %q, want %q", b, "two!")
	}
	os.Symlink("../target", filepath.Join(dir, "d", "link"))
	v3, err := s.Keep("d/link", now.Add(time.Second))
	if err != nil || v3.Kind != KindSymlink || v3.Target != "../target" {
		t.Fatalf("Keep link = %+v, %v", v3, err)
	}
	for p, want := range map[string][]string{"d/a.txt": {v1.ID, v2.ID}, "d": {v1.ID, v2.ID, v3.ID}, "": {v1.ID, v2.ID, v3.ID}, "d/link": {v3.ID}, "x": nil} {
		vs, err := s.List(p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.ID)
		}
		if len(got) != len(want) || (len(want) > 0 && (got[0] != want[0] || got[len(got)-1] != want[len(want)-1])) {
			t.Errorf("List(%q) = %q, want %q", p, got, want)
		}
	}
	// Return refuses a taken path and puts a version back on a free one.
	if err := s.Return(v1); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Return onto an existing file: %v, want EEXIST", err)
	}
	os.Remove(filepath.Join(dir, "d", "a.txt"))
	if err := s.Return(v1); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d", "a.txt")); string(b) != "one" {
		t.Errorf("returned file holds %q", b)
	}
	if _, err := s.Keep("d", now); !errors.Is(err, unix.EISDIR) {
		t.Errorf("Keep of a directory: %v, want EISDIR", err)
	}
}

func TestRestore(t *testing.T) {
	s, dir := newStore(t, DefaultPolicy())
	now := time.Date(2026, 12, 5, 3, 15, 0, 0, time.UTC)
	mt := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	write(t, filepath.Join(dir, "a"), "old", 0o600, mt)
	v, err := s.Keep("a", now)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a"), "current", 0o644, now)
	prev, err := s.Restore(v.ID, "a", now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "a"))
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "old" || st.Mode().Perm() != 0o600 || !st.ModTime().Equal(mt) {
		t.Errorf("restored %q %v %v, want %q 0600 %v", b, st.Mode(), st.ModTime(), "old", mt)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, Dir, prev.ID)); string(b) != "current" {
		t.Errorf("what was there is kept as %q holding %q", prev.ID, b)
	}
	if _, err := os.Stat(filepath.Join(dir, Dir, v.ID)); err != nil {
		t.Errorf("the restored version left the store: %v", err)
	}
	for _, id := range []string{"../a", "/etc/passwd", "a"} {
		if _, err := s.Restore(id, "b", now); err == nil {
			t.Errorf("Restore(%q) succeeded", id)
		}
	}
}

// TestStoreNoSymlinks plants a symbolic link to outside the root where a
// store directory belongs: Keep must fail rather than write through it.
func TestStoreNoSymlinks(t *testing.T) {
	s, dir := newStore(t, DefaultPolicy())
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(dir, Dir), 0o700)
	if err := os.Symlink(outside, filepath.Join(dir, Dir, "d")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "d", "a"), "x", 0o644, time.Now())
	if _, err := s.Keep("d/a", time.Now()); err == nil {
		t.Error("Keep wrote through a symbolic link in the store")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was written outside the root: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(dir, "d", "a")); err != nil {
		t.Errorf("the file was lost: %v", err)
	}
}
