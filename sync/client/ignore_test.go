package client

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEngineIgnoreFile checks that a .simplecloudignore keeps what it
// names on each side from the other, on the runs after one that found the
// sides alike (which plans nothing without reading the rules) too.
func TestEngineIgnoreFile(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, ".simplecloudignore"), "*.log\n")
	write(t, filepath.Join(p.local, "a.txt"), "a")
	if s := p.mustRun(); s.Uploaded != 2 || !s.Converged {
		t.Fatalf("first run: %+v, want 2 uploads, converged", s)
	}
	if s := p.mustRun(); s != (Summary{Converged: true}) {
		t.Fatalf("run with the sides alike: %+v, want nothing done, converged", s)
	}
	write(t, filepath.Join(p.local, "x.log"), "local log")
	write(t, filepath.Join(p.server, "Sync/y.log"), "server log")
	write(t, filepath.Join(p.local, "b.txt"), "b")
	if s := p.mustRun(); s.Uploaded != 1 || s.Downloaded != 0 || !s.Converged {
		t.Fatalf("run with ignored files: %+v, want b.txt uploaded only, converged", s)
	}
	if _, err := os.Lstat(filepath.Join(p.server, "Sync/x.log")); !os.IsNotExist(err) {
		t.Errorf("x.log reached the server: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(p.local, "y.log")); !os.IsNotExist(err) {
		t.Errorf("y.log reached the local folder: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(p.server, "Sync/b.txt")); err != nil {
		t.Errorf("b.txt: %v", err)
	}
	if s := p.mustRun(); s.Uploaded+s.Downloaded+s.DeletedLocal+s.DeletedRemote != 0 || !s.Converged {
		t.Errorf("run after: %+v, want nothing done, converged", s)
	}
}
