package main

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestNoTerminalQueryAtStart runs the real binary on a terminal that never
// answers (script(1) with stdin from /dev/null). Without earlyterm,
// bubbletea's init writes an OSC 11 background-colour query and a cursor
// position request there and waits 5 seconds for the answer.
func TestNoTerminalQueryAtStart(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) (util-linux) not installed")
	}
	bin := buildOnce(t)
	cmd := exec.Command("script", "-qec", bin+" version; echo TERM=$TERM", "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd.Stdin = devnull
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%q", err, out)
	}
	for _, q := range []string{"\x1b]11;?", "\x1b[6n"} {
		if bytes.Contains(out, []byte(q)) {
			t.Errorf("output %q holds the terminal query %q", out, q)
		}
	}
	if !bytes.Contains(out, []byte("simplecloud ")) || !bytes.Contains(out, []byte("TERM=xterm-256color")) {
		t.Errorf("got %q, want the version line and TERM unchanged for children", out)
	}
}
