package client

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestEngineReadOnlyDir syncs a server directory without write permission
// (mode 0555) holding a file. Its mode must arrive, and so must its
// content: a directory made read-only before its children are written
// into it would keep them out for any user but root, so the test runs
// itself again as nobody when it runs as root.
func TestEngineReadOnlyDir(t *testing.T) {
	if os.Getuid() == 0 && os.Getenv("SC_TEST_AS_NOBODY") == "" {
		exe, _ := os.Executable()
		cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", exe,
			"-test.run=^TestEngineReadOnlyDir$", "-test.v")
		cmd.Env = append(os.Environ(), "SC_TEST_AS_NOBODY=1", "TMPDIR=/tmp")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
		t.Logf("as nobody:\n%s", out)
		return
	}
	p := newPair(t)
	ro := filepath.Join(p.server, "Sync", "ro")
	write(t, filepath.Join(ro, "sub", "f"), "in a read-only directory")
	os.Chmod(filepath.Join(ro, "sub"), 0o555)
	os.Chmod(ro, 0o555)
	t.Cleanup(func() { // let the test's cleanup remove them
		filepath.Walk(filepath.Dir(p.local), func(f string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(f, 0o755)
			}
			return nil
		})
		os.Chmod(ro, 0o755)
		os.Chmod(filepath.Join(ro, "sub"), 0o755)
		os.Chmod(filepath.Join(p.server, "Sync", "lro"), 0o755)
	})
	lro := filepath.Join(p.local, "lro")
	write(t, filepath.Join(lro, "g"), "in a read-only local directory")
	os.Chmod(lro, 0o555)
	s := p.mustRun()
	if !s.Converged {
		t.Errorf("got %+v, want converged", s)
	}
	b, err := os.ReadFile(filepath.Join(p.local, "ro", "sub", "f"))
	if err != nil || string(b) != "in a read-only directory" {
		t.Errorf("got %q, %v", b, err)
	}
	b, err = os.ReadFile(filepath.Join(p.server, "Sync", "lro", "g"))
	if err != nil || string(b) != "in a read-only local directory" {
		t.Errorf("on the server: got %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(p.server, "Sync", "lro")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("lro on the server: got %v, want mode 0555", fi)
	}
	// The server adds a file to the directory that is read-only on both
	// sides now, and changes one: both arrive, and the mode stays.
	os.Chmod(filepath.Join(ro, "sub"), 0o755)
	write(t, filepath.Join(ro, "sub", "new"), "new in a read-only directory")
	write(t, filepath.Join(ro, "sub", "f"), "changed in a read-only directory")
	os.Chmod(filepath.Join(ro, "sub"), 0o555)
	if s := p.mustRun(); !s.Converged || s.Downloaded != 2 {
		t.Errorf("into the read-only directory: got %+v, want 2 downloads, converged", s)
	}
	for f, want := range map[string]string{"new": "new in a read-only directory", "f": "changed in a read-only directory"} {
		if b, err := os.ReadFile(filepath.Join(p.local, "ro", "sub", f)); string(b) != want {
			t.Errorf("%s: got %q, %v, want %q", f, b, err, want)
		}
	}
	// And the other way: a file added locally to lro, read-only on both
	// sides now, reaches the server.
	os.Chmod(lro, 0o755)
	write(t, filepath.Join(lro, "h"), "new in lro")
	os.Chmod(lro, 0o555)
	if s := p.mustRun(); !s.Converged || s.Uploaded != 1 {
		t.Errorf("into the server's read-only directory: got %+v, want 1 upload, converged", s)
	}
	if b, err := os.ReadFile(filepath.Join(p.server, "Sync", "lro", "h")); string(b) != "new in lro" {
		t.Errorf("lro/h on the server: got %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(p.server, "Sync", "lro")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("lro on the server after: got %v, want mode 0555", fi)
	}
	for _, d := range []string{"ro", "ro/sub"} {
		if fi, err := os.Stat(filepath.Join(p.local, d)); err != nil || fi.Mode().Perm() != 0o555 {
			t.Errorf("%s: got %v, want mode 0555", d, fi)
		}
	}
}
