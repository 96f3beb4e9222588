package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// progressLine is the line `simplecloud sync` redraws on a terminal.
var progressLine = regexp.MustCompile(`\d+/\d+ files  [\d.]+ [KMG]?i?B/[\d.]+ [KMG]?i?B  [\d.]+ [KMG]?i?B/s`)

// TestSyncProgress runs a first sync of a few hundred files and a 300 MiB
// file in a real terminal (tmux): the progress line (files, bytes, rate)
// is redrawn while it runs, and the summary ends up on a line of its own.
// With --json nothing but JSON reaches stdout.
func TestSyncProgress(t *testing.T) {
	needRoot(t, "ssh", "useradd", "tmux")
	u := newUser(t, "")
	root := openDir(t)
	srv := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	local := openDir(t)
	for i := range 300 {
		os.WriteFile(filepath.Join(local, fmt.Sprintf("f%03d", i)), []byte(strings.Repeat("x", 1000+i)), 0o644)
	}
	writeRandom(t, filepath.Join(local, "big"), 300<<20)
	state := t.TempDir()
	out := filepath.Join(t.TempDir(), "screen")
	rsh := "ssh " + strings.Join(srv.sshArgs(u.key, "-p"), " ")
	// The shell prints a marker when the sync ends, and stays for the
	// capture.
	shell := fmt.Sprintf("XDG_STATE_HOME=%s %s sync --once -e %q %s %s@127.0.0.1:Prog; echo EXIT=$?; sleep 600",
		state, binary(t), rsh, local, u.name)
	name := fmt.Sprintf("sc-progress-%d", os.Getpid())
	if b, err := exec.Command("tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "30", shell).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, b)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", name).Run() })
	screen := func() string {
		b, _ := exec.Command("tmux", "capture-pane", "-p", "-t", name).Output()
		os.WriteFile(out, b, 0o644)
		return string(b)
	}
	sawProgress := false
	testutil.Eventually(t, 3*time.Minute, func() error {
		s := screen()
		if !strings.Contains(s, "EXIT=") && progressLine.MatchString(s) {
			sawProgress = true
		}
		if !strings.Contains(s, "EXIT=") {
			return fmt.Errorf("still running:\n%s", s)
		}
		return nil
	})
	final := screen()
	if !sawProgress {
		t.Errorf("no progress line while the sync ran; the end:\n%s", final)
	}
	if !strings.Contains(final, "EXIT=0") {
		t.Fatalf("the sync failed:\n%s", final)
	}
	// The summary is on its own line, not glued to the progress line.
	summary := false
	for _, l := range strings.Split(final, "\n") {
		if strings.HasPrefix(l, "uploaded 301, downloaded 0") {
			summary = true
		}
	}
	if !summary {
		t.Errorf("no summary line of its own:\n%s", final)
	}
	// With --json (not a terminal on stdout here, but stderr is one):
	// stdout holds only the JSON summary.
	sum, all, err := srv.syncCLI(t, u, local, "Prog", state)
	if err != nil || !sum.Converged || strings.Contains(all, " files  ") {
		t.Errorf("--json run: %v, %+v\n%s", err, sum, all)
	}
}
