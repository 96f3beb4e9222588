package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"a": true, "a b": true, ".x": true, "...": true,
		"": false, ".": false, "..": false, "a/b": false, "/": false, "a\x00": false,
	} {
		if got := checkName(name) == nil; got != ok {
			t.Errorf("checkName(%q): got ok=%v, want %v", name, got, ok)
		}
	}
}

// TestDirWalk lists a directory through a Dir and checks that the walk
// calls refuse symbolic links: as the directory to enter, on the way to a
// directory opened from the root, and as a file to open.
func TestDirWalk(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	mustDo(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o644))
	mustDo(t, os.Symlink(outside, filepath.Join(dir, "out")))
	mustDo(t, os.Symlink("sub", filepath.Join(dir, "in")))
	mustDo(t, os.Symlink("f", filepath.Join(dir, "sub", "lf")))
	r, err := Open(dir)
	mustDo(t, err)
	defer r.Close()
	d, err := r.OpenDir("/")
	mustDo(t, err)
	defer d.Close()
	var got []string
	buf := make([]byte, 64) // small: several getdents calls
	mustDo(t, d.ReadNames(buf, func(name []byte, typ DirentType) {
		got = append(got, string(name)+":"+map[DirentType]string{unix.DT_DIR: "d", unix.DT_LNK: "l", unix.DT_REG: "f"}[typ])
	}))
	sort.Strings(got)
	if want := "in:l out:l sub:d"; strings.Join(got, " ") != want {
		t.Errorf("ReadNames: got %q, want %q", strings.Join(got, " "), want)
	}
	for _, name := range []string{"out", "in"} {
		if sd, err := d.OpenDir(name); !errors.Is(err, unix.ENOTDIR) {
			if sd != nil {
				sd.Close()
			}
			t.Errorf("Dir.OpenDir(%s), a symbolic link: got %v, want ENOTDIR", name, err)
		}
	}
	if sd, err := r.OpenDir("in/."); err == nil {
		sd.Close()
		t.Error("Root.OpenDir through a symbolic link: got nil error")
	}
	if _, err := r.Lstat("in/f"); err == nil {
		t.Error("Root.Lstat through a symbolic link: got nil error")
	}
	sub, err := d.OpenDir("sub")
	mustDo(t, err)
	defer sub.Close()
	if f, err := sub.Open("lf", unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
		if f != nil {
			f.Close()
		}
		t.Errorf("Dir.Open of a symbolic link: got %v, want ELOOP", err)
	}
	if target, err := sub.Readlink("lf"); err != nil || target != "f" {
		t.Errorf("Readlink: got %q, %v; want \"f\"", target, err)
	}
	var st unix.Stat_t
	if err := sub.Lstat("lf", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("Dir.Lstat of a link: got mode %#o, %v; want a link", st.Mode, err)
	}
	if err := sub.Lstat("..", &st); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Dir.Lstat(..): got %v, want EINVAL", err)
	}
	if st, err := r.Lstat("sub/f"); err != nil || st.Size != 1 {
		t.Errorf("Root.Lstat(sub/f): got size %d, %v; want 1", st.Size, err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestGetxattr reads an attribute by name relative to a Dir, through
// getxattrat and through the fallback for older kernels.
func TestGetxattr(t *testing.T) {
	dir := t.TempDir()
	mustDo(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	mustDo(t, os.Symlink("f", filepath.Join(dir, "l")))
	mustDo(t, unix.Setxattr(filepath.Join(dir, "f"), "user.t", []byte("value"), 0))
	r, err := Open(dir)
	mustDo(t, err)
	defer r.Close()
	d, err := r.OpenDir("/")
	mustDo(t, err)
	defer d.Close()
	defer noGetxattrat.Store(false)
	for _, fallback := range []bool{false, true} {
		noGetxattrat.Store(fallback)
		buf := make([]byte, 16)
		if n, err := d.Getxattr("f", "user.t", buf); err != nil || string(buf[:n]) != "value" {
			t.Errorf("fallback %v: Getxattr(f): got %q, %v; want \"value\"", fallback, buf[:n], err)
		}
		if _, err := d.Getxattr("f", "user.t", buf[:2]); !errors.Is(err, unix.ERANGE) {
			t.Errorf("fallback %v: Getxattr into a short buffer: got %v, want ERANGE", fallback, err)
		}
		if _, err := d.Getxattr("f", "user.none", buf); !errors.Is(err, unix.ENODATA) {
			t.Errorf("fallback %v: Getxattr of a missing attribute: got %v, want ENODATA", fallback, err)
		}
		if _, err := d.Getxattr("l", "user.t", buf); err == nil {
			t.Errorf("fallback %v: Getxattr through a symbolic link: got nil error", fallback)
		}
		if _, err := d.Getxattr("../f", "user.t", buf); !errors.Is(err, unix.EINVAL) {
			t.Errorf("fallback %v: Getxattr(../f): got %v, want EINVAL", fallback, err)
		}
	}
}

// TestDirCreateRename: Create makes a file with the mode asked, Rename
// with RENAME_NOREPLACE refuses an existing name, Remove removes; a link
// is never followed and a name with "/" is refused.
func TestDirCreateRename(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	os.WriteFile(filepath.Join(dir, "taken"), []byte("x"), 0o644)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := r.OpenDir("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := d.Create("new", unix.O_WRONLY|unix.O_EXCL, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Stat(filepath.Join(dir, "new")); err != nil || st.Mode().Perm() != 0o640&^umask() {
		t.Errorf("created file: %v, %v; want mode %o", st.Mode(), err, 0o640&^umask())
	}
	if _, err := d.Create("link", unix.O_WRONLY, 0o600); !errors.Is(err, unix.ELOOP) {
		t.Errorf("create over a link: got %v, want ELOOP", err)
	}
	if _, err := d.Create("a/b", unix.O_WRONLY, 0o600); !errors.Is(err, unix.EINVAL) {
		t.Errorf("create a/b: got %v, want EINVAL", err)
	}
	if err := d.Rename("new", "taken", unix.RENAME_NOREPLACE); !errors.Is(err, unix.EEXIST) {
		t.Errorf("rename onto an existing name: got %v, want EEXIST", err)
	}
	if err := d.Rename("new", "moved", unix.RENAME_NOREPLACE); err != nil {
		t.Errorf("rename: %v", err)
	}
	if err := d.Remove("moved", 0); err != nil {
		t.Errorf("remove: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "moved")); !os.IsNotExist(err) {
		t.Errorf("after remove: %v", err)
	}
}

func umask() os.FileMode {
	m := unix.Umask(0)
	unix.Umask(m)
	return os.FileMode(m)
}
