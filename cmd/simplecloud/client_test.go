package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientEnableNoStart writes the systemd user unit without starting
// it, and has systemd-analyze check it when it is installed.
func TestClientEnableNoStart(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	code, out, errOut := runCLI("client", "enable", "--no-start")
	unit := filepath.Join(cfg, "systemd", "user", "simplecloud-client.service")
	if code != exitOK || !strings.Contains(out, unit) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the unit's path", code, out, errOut)
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	if !strings.Contains(string(b), "ExecStart="+exe+" client run\n") || !strings.Contains(string(b), "WantedBy=default.target") {
		t.Errorf("unit:\n%s\nwant ExecStart=%s client run and WantedBy=default.target", b, exe)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze is not installed: the unit's syntax is not checked")
		return
	}
	if out, err := exec.Command("systemd-analyze", "verify", "--man=no", unit).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestClientAddRemove edits client.toml through the commands.
func TestClientAddRemove(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	local := filepath.Join(t.TempDir(), "docs")
	if code, out, errOut := runCLI("client", "add", local, "u@host:docs"); code != exitOK || !strings.Contains(out, "added") {
		t.Fatalf("add: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI("client", "add", local, "u@host:other"); code != exitUsage || !strings.Contains(errOut, "named") {
		t.Errorf("add twice: exit %d, %q; want %d and a clear message", code, errOut, exitUsage)
	}
	if code, _, errOut := runCLI("client", "add", filepath.Join(local, "x"), "host:x", "--mode", "stream"); code != exitUsage || !strings.Contains(errOut, "user") {
		t.Errorf("stream without a user: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"pause", "docs"}, {"resume", local}, {"remove", "docs"}} {
		if code, _, errOut := runCLI(append([]string{"client"}, args...)...); code != exitOK {
			t.Errorf("client %v: exit %d, %q", args, code, errOut)
		}
	}
	if code, _, _ := runCLI("client", "remove", "docs"); code != exitUsage {
		t.Errorf("remove twice: exit %d, want %d", code, exitUsage)
	}
	b, _ := os.ReadFile(filepath.Join(cfg, "simplecloud", "client.toml"))
	if strings.Contains(string(b), `name = "docs"`) {
		t.Errorf("client.toml after remove:\n%s", b)
	}
}
