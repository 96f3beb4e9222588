package server_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// TestSSHFSMount mounts the user's root with `simplecloud mount` (sshfs),
// works on it with ordinary file calls, survives a server restart through
// sshfs's reconnect, and unmounts with `simplecloud umount`.
func TestSSHFSMount(t *testing.T) {
	needRoot(t, "sshfs", "fusermount")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
	u := newUser(t, "")
	root, hk := openDir(t), filepath.Join(t.TempDir(), "hk")
	s := startServer(t, root, hk, nil)
	mnt := t.TempDir()
	mount := func() {
		out, err := exec.Command(binary(t), "mount", u.name+"@127.0.0.1:", mnt, "-p", s.port, "-i", u.key,
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes").CombinedOutput()
		if err != nil {
			t.Fatalf("simplecloud mount: %v: %s", err, out)
		}
	}
	mount()
	mounted := true
	t.Cleanup(func() {
		if mounted {
			exec.Command("fusermount", "-u", "-z", mnt).Run()
		}
	})

	home := filepath.Join(root, u.name)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	steps := []struct {
		name string
		do   func() error
	}{
		{"write", func() error { return os.WriteFile(filepath.Join(mnt, "big"), big, 0o644) }},
		{"mkdir", func() error { return os.Mkdir(filepath.Join(mnt, "dir"), 0o755) }},
		{"rename", func() error { return os.Rename(filepath.Join(mnt, "big"), filepath.Join(mnt, "dir", "big")) }},
		{"symlink", func() error { return os.Symlink("dir/big", filepath.Join(mnt, "link")) }},
		{"hardlink", func() error { return os.Link(filepath.Join(mnt, "dir", "big"), filepath.Join(mnt, "hard")) }},
		{"chmod", func() error { return os.Chmod(filepath.Join(mnt, "dir", "big"), 0o600) }},
		{"small files", func() error {
			for i := range 100 {
				if err := os.WriteFile(filepath.Join(mnt, "dir", "s"+string(rune('a'+i%26))+string(rune('a'+i/26))), []byte{byte(i)}, 0o644); err != nil {
					return err
				}
			}
			return nil
		}},
		{"remove", func() error { return os.Remove(filepath.Join(mnt, "hard")) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s through sshfs: %v", st.name, err)
		}
	}
	got, err := os.ReadFile(filepath.Join(home, "dir", "big"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("file on the server: got %d bytes, %v; want the 16 MiB written", len(got), err)
	}
	fi, _ := os.Stat(filepath.Join(home, "dir", "big"))
	if fi.Mode().Perm() != 0o600 || int(fi.Sys().(*syscall.Stat_t).Uid) != u.uid {
		t.Errorf("on the server: got mode %#o uid %d, want 0600 uid %d", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, u.uid)
	}
	if l, _ := os.Readlink(filepath.Join(home, "link")); l != "dir/big" {
		t.Errorf("symlink on the server: got %q, want dir/big", l)
	}
	ents, _ := os.ReadDir(filepath.Join(mnt, "dir"))
	if len(ents) != 101 {
		t.Errorf("listing through sshfs: got %d entries, want 101", len(ents))
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &sfs); err != nil || sfs.Blocks == 0 {
		t.Errorf("statfs through sshfs: got %+v, %v; want the server's figures", sfs, err)
	}

	// Restart the server on the same port; sshfs reconnects.
	port := s.port
	if err := s.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
	startServer(t, root, hk, nil, "--listen", "127.0.0.1:"+port)
	testutil.Eventually(t, 30*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(mnt, "dir", "saa"))
		if err == nil && len(b) == 1 {
			return nil
		}
		return fmt.Errorf("read after server restart: got %d bytes, %v; want sshfs to reconnect", len(b), err)
	})

	out, err := exec.Command(binary(t), "umount", mnt).CombinedOutput()
	if err != nil {
		t.Fatalf("simplecloud umount: %v: %s", err, out)
	}
	mounted = false
	if m, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(m), mnt) {
		t.Errorf("%s still mounted after umount", mnt)
	}
}
