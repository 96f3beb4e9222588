package sftpd

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

func TestOpenFlags(t *testing.T) {
	tests := []struct {
		pflags uint32
		want   int
	}{
		{OpenRead, unix.O_RDONLY},
		{OpenWrite, unix.O_WRONLY},
		{OpenRead | OpenWrite, unix.O_RDWR},
		{OpenWrite | OpenCreat | OpenTrunc, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC},
		{OpenWrite | OpenCreat | OpenExcl, unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL},
		{OpenWrite | OpenAppend, unix.O_WRONLY | unix.O_APPEND},
	}
	for _, tt := range tests {
		if got := openFlags(tt.pflags); got != tt.want {
			t.Errorf("openFlags(%#x): got %#o, want %#o", tt.pflags, got, tt.want)
		}
	}
}

func TestCreateMode(t *testing.T) {
	if got := createMode(Attrs{}, 0o666); got != 0o666 {
		t.Errorf("no permissions sent: got %#o, want 0666", got)
	}
	if got := createMode(Attrs{Flags: AttrPermissions, Permissions: 0o100600}, 0o666); got != 0o600 {
		t.Errorf("0100600 sent: got %#o, want 0600", got)
	}
}

// openRoot opens a rooted temp dir.
func openRoot(t *testing.T) (*rootfs.Root, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// TestCreateHonoursMode checks that a file is created with the client's
// mode under the process umask, as install -m600 through sshfs needs.
func TestCreateHonoursMode(t *testing.T) {
	r, dir := openRoot(t)
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for name, tt := range map[string]struct {
		a    Attrs
		want os.FileMode
	}{
		"0600": {Attrs{Flags: AttrPermissions, Permissions: 0o600}, 0o600},
		"none": {Attrs{}, 0o644},
		"0777": {Attrs{Flags: AttrPermissions, Permissions: 0o777}, 0o755},
	} {
		f, err := r.OpenFile(name, openFlags(OpenWrite|OpenCreat|OpenExcl), createMode(tt.a, 0o666), true)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tt.want {
			t.Errorf("%s: got mode %v, want %v", name, fi.Mode().Perm(), tt.want)
		}
	}
}

// TestFileOpsOnDescriptor checks that FSTAT and FSETSTAT act on the open
// file after it has been renamed and another file has taken its name (what
// sshfs's .fuse_hidden renames do), and that atime and mtime stay apart.
func TestFileOpsOnDescriptor(t *testing.T) {
	r, dir := openRoot(t)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := r.OpenFile("/a", openFlags(OpenRead|OpenWrite), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	handles := newHandleTable(1)
	h, err := handles.add(&openHandle{f: f})
	if err != nil {
		t.Fatal(err)
	}
	defer handles.closeAll()
	if _, err := handles.add(&openHandle{f: f}); err != errTooManyHandles {
		t.Errorf("second handle with limit 1: got %v, want errTooManyHandles", err)
	}
	if err := os.Rename(a, b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, []byte("new file"), 0o600); err != nil {
		t.Fatal(err)
	}
	oh, _ := handles.get(h)
	f = oh.f
	if err := fsetstat(f, Attrs{Flags: AttrSize | AttrAcmodtime, Size: 3, Atime: 1000, Mtime: 2000}); err != nil {
		t.Fatal(err)
	}
	got, err := fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 3 || got.Atime != 1000 || got.Mtime != 2000 {
		t.Errorf("fstat after fsetstat: got size %d atime %d mtime %d, want 3 1000 2000", got.Size, got.Atime, got.Mtime)
	}
	for p, want := range map[string]int64{a: 8, b: 3} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != want {
			t.Errorf("%s: got size %d, want %d", filepath.Base(p), fi.Size(), want)
		}
	}
	if oh, ok := handles.remove(h); !ok {
		t.Error("remove: handle not found")
	} else {
		oh.f.Close()
	}
	if _, ok := handles.get(h); ok {
		t.Error("get after remove: got a file, want none")
	}
}
