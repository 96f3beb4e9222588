package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"simplecloud/internal/testutil"
)

func TestInitramfsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := NewInitramfs()
	r.Bytes("/etc/guest/modules", []byte("a.ko\n"), 0o644)
	r.Bytes("etc/guest/modules", []byte("b.ko\n"), 0o600) // replaces the first
	r.Symlink("/bin/sh", "busybox")
	r.Dir("/deep/er/dir", 0o700)
	out := filepath.Join(dir, "initrd")
	if err := r.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cpio.Record{}
	var order []string
	for _, rec := range recs {
		got[rec.Name] = rec
		order = append(order, rec.Name)
	}
	m, ok := got["etc/guest/modules"]
	if !ok || m.Mode != cpio.S_IFREG|0o600 || m.FileSize != 5 {
		t.Fatalf("got %+v, want regular file of 5 bytes mode 0600", m.Info)
	}
	b := make([]byte, 5)
	if _, err := m.ReadAt(b, 0); err != nil || string(b) != "b.ko\n" {
		t.Errorf("got content %q, %v; want %q", b, err, "b.ko\n")
	}
	if l := got["bin/sh"]; l.Mode&cpio.S_IFMT != cpio.S_IFLNK {
		t.Errorf("got mode %o for bin/sh, want a symlink", l.Mode)
	}
	// Parents come before children.
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	for _, n := range order {
		if parent := filepath.Dir(n); parent != "." {
			if p, ok := pos[parent]; !ok || p > pos[n] {
				t.Errorf("parent %s of %s missing or after it", parent, n)
			}
		}
	}
}

// TestInitramfsProgramRunsInChroot builds an archive with a dynamic program
// and its libraries, unpacks it and runs the program
// in a chroot: the libraries must be complete.
func TestInitramfsProgramRunsInChroot(t *testing.T) {
	testutil.NeedRoot(t) // chroot
	prog, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	prog, _ = filepath.EvalSymlinks(prog)
	dir := t.TempDir()
	r := NewInitramfs()
	if err := r.Program("/bin/ls", prog); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "initrd")
	if err := r.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = cpio.ForEachRecord(cpio.Newc.Reader(f), func(rec cpio.Record) error {
		return cpio.CreateFileInRoot(rec, root, false)
	})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	b, err := exec.Command("chroot", root, "/bin/ls", "/bin").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "ls") {
		t.Fatalf("run ls in chroot: %v: %s", err, b)
	}
}
