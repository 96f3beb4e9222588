package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM during a download: the server stops
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
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.logs.String(), "sftp session started") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("download session did not start:\n%s", s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
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
