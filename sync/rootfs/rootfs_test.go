package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRelPath(t *testing.T) {
	tests := map[string]string{
		"/": ".", "": ".", "/a/b": "a/b", "a/../../b": "b", "/../../etc/passwd": "etc/passwd",
		"//x//y/": "x/y", "/a/./b/..": "a",
	}
	for in, want := range tests {
		got, err := relPath(in)
		if err != nil || got != want {
			t.Errorf("relPath(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := relPath("a\x00b"); err == nil {
		t.Error("relPath with NUL: got nil error, want EINVAL")
	}
}

// TestBeneath checks that symbolic links cannot lead out of the root, and
// that an absolute symlink target is stored as given yet never followed
// out of the root.
func TestBeneath(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../"+filepath.Base(outside), filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, p := range []string{"/abs/secret", "up/secret"} {
		if f, err := r.OpenFile(p, unix.O_RDONLY, 0, true); !errors.Is(err, unix.EACCES) {
			if f != nil {
				f.Close()
			}
			t.Errorf("open %s: got %v, want EACCES", p, err)
		}
	}
	if err := r.Mkdir("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Symlink("/d", "/link"); err != nil {
		t.Fatal(err)
	}
	if err := r.Symlink(outside, "/d/out"); err != nil {
		t.Fatal(err)
	}
	for link, want := range map[string]string{"/link": "/d", "/d/out": outside} {
		got, err := r.Readlink(link)
		if err != nil || got != want {
			t.Errorf("readlink %s: got %q, %v; want %q", link, got, err, want)
		}
	}
	for _, p := range []string{"/d/out/secret", "/link"} {
		if f, err := r.OpenFile(p, unix.O_RDONLY, 0, true); !errors.Is(err, unix.EACCES) {
			if f != nil {
				f.Close()
			}
			t.Errorf("open %s through an absolute link: got %v, want EACCES", p, err)
		}
	}
	if st, err := r.Stat("/link", false); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("lstat /link: got mode %#o, %v; want a symbolic link", st.Mode, err)
	}
	if st, err := r.Stat("/d", true); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("stat /d: got mode %#o, %v; want a directory", st.Mode, err)
	}
}

// TestStrict shows that a strict Root refuses a symbolic link in the middle
// of a path, which the ordinary Root follows while it stays inside.
func TestStrict(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.OpenFile("link/f", os.O_RDONLY, 0, true)
	if err != nil {
		t.Fatalf("ordinary root: %v", err)
	}
	f.Close()
	s := r.Strict()
	if _, err := s.OpenFile("link/f", os.O_RDONLY, 0, true); !errors.Is(err, unix.ELOOP) {
		t.Errorf("strict OpenFile through a link: got %v, want ELOOP", err)
	}
	if err := s.Mkdir("link/d", 0o755); !errors.Is(err, unix.ELOOP) {
		t.Errorf("strict Mkdir through a link: got %v, want ELOOP", err)
	}
	if err := s.Mkdir("real/d", 0o755); err != nil {
		t.Errorf("strict Mkdir: %v", err)
	}
}
