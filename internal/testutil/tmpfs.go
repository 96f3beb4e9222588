package testutil

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// PrivateFS mounts a new tmpfs on a temporary directory and returns its
// path; it is unmounted when the test ends. A test that watches a whole file
// system (a fanotify FAN_MARK_FILESYSTEM mark) sees there only its own
// changes: on the shared /tmp, any other process's hard link or queue
// overflow counts as "everything changed". Skips when not root.
func PrivateFS(t testing.TB) string {
	t.Helper()
	NeedRoot(t)
	dir := filepath.Join(t.TempDir(), "fs")
	if err := unix.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("making a mount point: %v", err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m,mode=0755"); err != nil {
		t.Skipf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}
