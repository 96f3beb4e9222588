package holders

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// sshfsMount mounts dir/src at dir/mnt with sshfs talking to a local
// sftp-server (no ssh), and returns the mount point and the sftp-server's
// pid: stopping that pid hangs every uncached request on the mount.
func sshfsMount(t *testing.T) (mnt string, server int) {
	t.Helper()
	sftp := "/usr/lib/openssh/sftp-server"
	if _, err := os.Stat(sftp); err != nil {
		t.Skipf("needs %s: %v", sftp, err)
	}
	dir := t.TempDir()
	src, mnt := filepath.Join(dir, "src"), filepath.Join(dir, "mnt")
	for _, d := range []string{src, mnt, filepath.Join(src, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("remote"), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeSSH := filepath.Join(dir, "ssh")
	pidFile := filepath.Join(dir, "sftp.pid")
	script := "#!/bin/sh\necho $$ > " + pidFile + "\nexec " + sftp + "\n"
	if err := os.WriteFile(fakeSSH, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("sshfs", "-f", "-o", "ssh_command="+fakeSSH, "localhost:"+src, mnt)
	start(t, c)
	t.Cleanup(func() { exec.Command("fusermount", "-u", "-z", mnt).Run() })
	var pid int
	testutil.Eventually(t, 20*time.Second, func() error {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		p, _ := os.ReadFile(pidFile)
		n, err := strconv.Atoi(strings.TrimSpace(string(p)))
		if err != nil || !strings.Contains(string(b), " "+mnt+" ") {
			return fmt.Errorf("sshfs did not mount %s (server pid %q)", mnt, p)
		}
		pid = n
		return nil
	})
	// Whatever happens, let the server run again before cleanup.
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	return mnt, pid
}

// TestRootHungFUSE: processes with their cwd and an open file on a FUSE
// mount whose server is stopped must not hang the scan of another device.
func TestRootHungFUSE(t *testing.T) {
	needRoot(t, "sshfs", "fusermount", "losetup", "mkfs.ext4", "mount", "sleep", "sh")
	loop, target := loopMount(t)
	holder := exec.Command("sleep", "1000")
	holder.Dir = target
	start(t, holder)
	mnt, server := sshfsMount(t)
	onFuse := exec.Command("sh", "-c", `exec 3<"$1"; exec sleep 1000`, "sh", filepath.Join(mnt, "f"))
	onFuse.Dir = filepath.Join(mnt, "sub")
	start(t, onFuse)
	scanUntil(t, loop, map[string]int{"cwd": holder.Process.Pid})
	if err := syscall.Kill(server, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: this one, before those of the processes,
	// ends the server, which aborts the connection. A process blocked on
	// the stopped mount (here one still opening its file when the server
	// stopped, behind a lookup that holds the directory) cannot die before.
	t.Cleanup(func() { syscall.Kill(server, syscall.SIGKILL) })
	// Show that the mount hangs now: a stat of a new name cannot answer.
	hung := make(chan error, 1)
	go func() { _, err := os.Stat(filepath.Join(mnt, "new")); hung <- err }()
	select {
	case err := <-hung:
		t.Logf("a stat on the stopped mount returned (%v); the mount is not hung, the test proves less", err)
	case <-time.After(time.Second):
	}
	done := make(chan Report, 1)
	go func() {
		r, err := testScanner(t).Scan(context.Background(), loop)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	select {
	case r := <-done:
		pids := pidsOf(r)
		if !slices.Contains(pids, holder.Process.Pid) || slices.Contains(pids, onFuse.Process.Pid) {
			t.Errorf("got holders %v, want %d and not %d", pids, holder.Process.Pid, onFuse.Process.Pid)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the scan hangs on the stopped FUSE mount")
	}

	// Detached (umount -l), the target's paths say nothing: the scanner
	// stats every file now, but still none on the FUSE mount.
	runOrFail(t, "umount", "-l", target)
	go func() {
		r, err := testScanner(t).Scan(context.Background(), loop)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	select {
	case r := <-done:
		if pids := pidsOf(r); !slices.Contains(pids, holder.Process.Pid) || slices.Contains(pids, onFuse.Process.Pid) {
			t.Errorf("detached: got holders %v, want %d and not %d", pids, holder.Process.Pid, onFuse.Process.Pid)
		}
		for _, w := range r.Warnings {
			if strings.Contains(w, "did not return") {
				t.Errorf("detached: got warning %q, want no stat on the FUSE mount", w)
			}
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the scan of the detached device hangs on the stopped FUSE mount")
	}
}
