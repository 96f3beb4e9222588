package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHomeRoot serves users their home directories (--root "").
func TestHomeRoot(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, "", filepath.Join(t.TempDir(), "hk"), nil)
	out := s.mustSFTP(t, u.name, u.key, "put /etc/hostname from-sftp\nls -a\n")
	if !strings.Contains(out, ".ssh") {
		t.Errorf("ls -a of the home: got %q, want .ssh listed", out)
	}
	if _, err := os.Stat(filepath.Join(u.home, "from-sftp")); err != nil {
		t.Errorf("upload into the home: %v", err)
	}
}

// TestPlantedRoot refuses a Root/USER that is not the user's own, and a
// Root that users could write to.
func TestPlantedRoot(t *testing.T) {
	needRoot(t)
	a, b := newUser(t, ""), newUser(t, "")
	root := openDir(t)
	if err := os.Mkdir(filepath.Join(root, b.name), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(root, b.name), a.uid, a.gid) // A planted B's root
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	if out, err := s.sftp(t, b.name, b.key, "ls\n"); err == nil {
		t.Errorf("B served from a directory A owns: %s", out)
	}
	s.waitLog(t, "not a directory owned by "+b.name)

	os.Chmod(root, 0o777)
	out, err := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--root", root,
		"--host-key-dir", filepath.Join(t.TempDir(), "hk")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "writable by group or others") {
		t.Errorf("serve with a world-writable root: got %v: %s, want a refusal", err, out)
	}
}

// TestIdleTimeout closes a connection that carries no traffic.
func TestIdleTimeout(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil,
		"--idle-timeout", "2s", "--keepalive-interval", "500ms")
	// ssh -N opens no session and so sends no channel traffic.
	cmd := exec.Command("ssh", append(s.sshArgs(u.key, "-p"), "-N", u.name+"@127.0.0.1")...)
	start := time.Now()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("connection closed after %v, before the idle timeout", d)
		}
		s.waitLog(t, "closing idle connection")
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("idle connection still open after 20s")
	}
}
