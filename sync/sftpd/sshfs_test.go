package sftpd

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
	"simplecloud/sync/rootfs"
)

// mountSSHFS serves a temporary directory (returned second) on a local TCP
// port and mounts it with sshfs -o directport, which speaks SFTP straight
// to the port, with no SSH. It returns the mount point.
func mountSSHFS(t *testing.T, opts Options) (mnt, dir string) {
	t.Helper()
	testutil.NeedRoot(t, "sshfs", "fusermount3")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
	dir, mnt = t.TempDir(), t.TempDir()
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				Serve(c, root, opts, slog.New(slog.DiscardHandler))
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	cmd := exec.Command("sshfs", "-f", "-o", "sshfs_debug", "-o", "directport="+port, "127.0.0.1:/", mnt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		l.Close()
		root.Close()
		if t.Failed() {
			t.Logf("sshfs: %s", stderr.String())
		}
	})
	var pst, mst unix.Stat_t
	unix.Stat(filepath.Dir(mnt), &pst)
	testutil.Eventually(t, 10*time.Second, func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("sshfs exited: %v: %s", err, stderr.String())
		default:
		}
		if err := unix.Stat(mnt, &mst); err != nil {
			return err
		}
		if mst.Dev == pst.Dev {
			return errors.New("not mounted yet")
		}
		return nil
	})
	return mnt, dir
}

// TestSSHFS checks through a real sshfs mount what issue 14 found broken
// with pkg/sftp's server: ordering of pipelined writes, fstat and
// ftruncate, fstat and ftruncate after unlink and after rename, create
// modes, atime apart from mtime, absolute symlinks; and fsync and df.
func TestSSHFS(t *testing.T) {
	withUmask(t, 0o022)
	mnt, dir := mountSSHFS(t, Options{Umask: 0o022})
	at := func(n string) string { return filepath.Join(mnt, n) }
	on := func(n string) string { return filepath.Join(dir, n) }

	t.Run("pipelined write fstat ftruncate", func(t *testing.T) {
		data := bytes.Repeat([]byte("x"), 33954)
		f, err := os.OpenFile(at("order"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		bad := 0
		for i := range 50 {
			if _, err := f.WriteAt(data, 0); err != nil {
				t.Fatal(err)
			}
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(100); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("0123456789"), 100); err != nil {
				t.Fatal(err)
			}
			if fi.Size() != 33954 {
				bad++
				t.Errorf("round %d: fstat after write: got size %d, want 33954", i, fi.Size())
			}
		}
		if err := f.Sync(); err != nil { // fsync@openssh.com
			t.Errorf("fsync: %v", err)
		}
		if fi, err := os.Stat(on("order")); err != nil || fi.Size() != 110 {
			t.Errorf("final size on the server: got %v, %v; want 110", fi, err)
		}
	})
	t.Run("fstat and ftruncate after unlink", func(t *testing.T) {
		os.WriteFile(at("unl"), []byte("0123456789"), 0o644)
		f, err := os.OpenFile(at("unl"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := os.Remove(at("unl")); err != nil {
			t.Fatal(err)
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != 10 {
			t.Errorf("fstat after unlink: got %v, %v; want size 10", fi, err)
		}
		if err := f.Truncate(4); err != nil {
			t.Errorf("ftruncate after unlink: %v", err)
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != 4 {
			t.Errorf("fstat after unlink and ftruncate: got %v, %v; want size 4", fi, err)
		}
	})
	t.Run("ftruncate after rename and a new file", func(t *testing.T) {
		os.WriteFile(at("A"), []byte("0123456789"), 0o644)
		f, err := os.OpenFile(at("A"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := os.Rename(at("A"), at("B")); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(at("A"), []byte("new file"), 0o644)
		if err := f.Truncate(3); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]int64{"A": 8, "B": 3} {
			if fi, err := os.Stat(on(name)); err != nil || fi.Size() != want {
				t.Errorf("%s on the server: got %v, %v; want size %d", name, fi, err, want)
			}
		}
	})
	t.Run("create modes", func(t *testing.T) {
		if out, err := exec.Command("install", "-m600", "/dev/null", at("key")).CombinedOutput(); err != nil {
			t.Fatalf("install: %v: %s", err, out)
		}
		if out, err := exec.Command("mkdir", "-m700", at("private")).CombinedOutput(); err != nil {
			t.Fatalf("mkdir: %v: %s", err, out)
		}
		f, err := os.OpenFile(at("plain"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		for name, want := range map[string]os.FileMode{"key": 0o600, "private": 0o700, "plain": 0o644} {
			if fi, err := os.Stat(on(name)); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s on the server: got %v, %v; want mode %v", name, fi, err, want)
			}
		}
	})
	t.Run("atime apart from mtime", func(t *testing.T) {
		os.WriteFile(at("times"), nil, 0o644)
		atime, mtime := time.Unix(1_000_000_000, 0), time.Unix(1_500_000_000, 0)
		if err := os.Chtimes(at("times"), atime, mtime); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		unix.Stat(on("times"), &st)
		if st.Atim.Sec != atime.Unix() || st.Mtim.Sec != mtime.Unix() {
			t.Errorf("on the server: got atime %d mtime %d, want %d %d", st.Atim.Sec, st.Mtim.Sec, atime.Unix(), mtime.Unix())
		}
		var mst syscall.Stat_t
		syscall.Stat(at("times"), &mst)
		if mst.Atim.Sec != atime.Unix() {
			t.Errorf("through sshfs: got atime %d, want %d", mst.Atim.Sec, atime.Unix())
		}
	})
	t.Run("absolute symlink", func(t *testing.T) {
		if err := os.Symlink("/some/where", at("abs")); err != nil {
			t.Fatal(err)
		}
		// sshfs 3.7.3 itself answers EPERM to readlink of an absolute
		// link on the mount, with OpenSSH's sftp-server too; the server's
		// READLINK is checked in TestSymlinks.
		if got, err := os.Readlink(on("abs")); err != nil || got != "/some/where" {
			t.Errorf("on the server: got %q, %v; want /some/where", got, err)
		}
	})
	t.Run("df", func(t *testing.T) {
		var got, want unix.Statfs_t
		unix.Statfs(mnt, &got)
		unix.Statfs(dir, &want)
		if got.Blocks*uint64(got.Bsize) != want.Blocks*uint64(want.Bsize) {
			t.Errorf("statfs of the mount: got %d blocks of %d, want %d of %d", got.Blocks, got.Bsize, want.Blocks, want.Bsize)
		}
	})
	t.Run("listing", func(t *testing.T) {
		out, err := exec.Command("ls", "-a", mnt).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "..") {
			t.Errorf("ls -a: got %q, %v; want . and ..", out, err)
		}
	})
}
