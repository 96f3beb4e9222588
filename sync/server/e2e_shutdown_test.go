package server_test

import (
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

// TestGracefulShutdown sends SIGTERM during a download to the server and,
// as systemd does, to the process serving the download: the server stops
// accepting, lets the transfer finish, then exits 0.
func TestGracefulShutdown(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil, "--shutdown-timeout", "60s")
	s.mustSFTP(t, u.name, u.key, "ls\n")
	src := filepath.Join(root, u.name, "big")
	writeRandom(t, src, 24<<20)
	os.Chown(src, u.uid, u.gid)

	local := t.TempDir()
	bf := filepath.Join(local, "batch")
	os.WriteFile(bf, []byte("get big "+local+"/big\n"), 0o600)
	// -l 64000: 64 Mbit/s, so that the 24 MiB take about three seconds.
	dl := exec.Command("sftp", append(s.sshArgs(u.key, "-P"), "-l", "64000", "-b", bf, u.name+"@127.0.0.1")...)
	out := &syncBuffer{}
	dl.Stdout, dl.Stderr = out, out
	if err := dl.Start(); err != nil {
		t.Fatal(err)
	}
	// The first session was the ls above; wait for the download's.
	testutil.Eventually(t, 10*time.Second, func() error {
		if logs := s.logs.String(); strings.Count(logs, "sftp session started") < 2 {
			return fmt.Errorf("download session did not start:\n%s", logs)
		}
		return nil
	})
	// systemd sends SIGTERM to every process of the service: the session's
	// process must drain too, not die.
	logs := s.logs.String()
	logs = logs[strings.LastIndex(logs, "sftp session started"):]
	var pid int
	if i := strings.Index(logs, "pid="); i >= 0 {
		fmt.Sscanf(logs[i+4:], "%d", &pid)
	}
	if pid == 0 {
		t.Fatalf("no pid in the session's log line: %s", logs)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGTERM)
	s.waitLog(t, "shutting down")
	if !strings.Contains(s.logs.String(), "connections=1") {
		t.Errorf("at shutdown: want one open connection logged:\n%s", s.logs.String())
	}
	if o, err := s.sftp(t, u.name, u.key, "ls\n"); err == nil {
		t.Errorf("new connection during shutdown: got success %q, want refused", o)
	}
	if err := dl.Wait(); err != nil {
		t.Fatalf("download across SIGTERM: %v: %s", err, out.String())
	}
	sameFile(t, src, filepath.Join(local, "big"))
	select {
	case err := <-s.exited:
		s.exited <- err
		if err != nil {
			t.Errorf("server exit after drain: got %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("server still running 20s after its last session ended")
	}
}

// TestServerKilledEndsSessions kills the server with SIGKILL during a
// session: the session child must notice (EOF on its socket) and exit.
func TestServerKilledEndsSessions(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	s.mustSFTP(t, u.name, u.key, "ls\n")
	src := filepath.Join(root, u.name, "big")
	writeRandom(t, src, 8<<20)
	os.Chown(src, u.uid, u.gid)
	local := t.TempDir()
	bf := filepath.Join(local, "batch")
	os.WriteFile(bf, []byte("get big "+local+"/big\n"), 0o600)
	dl := exec.Command("sftp", append(s.sshArgs(u.key, "-P"), "-l", "8000", "-b", bf, u.name+"@127.0.0.1")...)
	if err := dl.Start(); err != nil {
		t.Fatal(err)
	}
	defer dl.Wait()
	defer dl.Process.Kill()
	var pid int
	testutil.Eventually(t, 10*time.Second, func() error {
		logs := s.logs.String()
		if i := strings.LastIndex(logs, "sftp session started"); i >= 0 && strings.Count(logs, "sftp session started") >= 2 {
			line := logs[i:]
			if j := strings.Index(line, "pid="); j >= 0 {
				fmt.Sscanf(line[j+4:], "%d", &pid)
			}
		}
		if pid == 0 {
			return fmt.Errorf("no second session in the log:\n%s", logs)
		}
		return nil
	})
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("session child %d not running: %v", pid, err)
	}
	s.cmd.Process.Kill()
	testutil.Eventually(t, 10*time.Second, func() error {
		// The child is not ours to reap; it is gone once /proc says so
		// or it is a zombie awaiting init.
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(st), ") Z ") {
			return nil
		}
		return fmt.Errorf("session child %d still running 10s after the server was killed", pid)
	})
}
