package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// childExit returns the error of a shell that ran script and failed.
func childExit(t *testing.T, script string) error {
	t.Helper()
	err := exec.Command("sh", "-c", script).Run()
	if err == nil {
		t.Fatalf("sh -c %q succeeded", script)
	}
	return err
}

func TestExitCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitError},
		{usageError{errors.New("bad flag")}, exitUsage},
		{withExitCode(exitAuth, errors.New("no key available with this passphrase")), exitAuth},
		{fmt.Errorf("open volume: %w", withExitCode(exitAuth, errors.New("wrong"))), exitAuth},
		{errors.New(`unknown command "x" for "simplecloud"`), exitUsage},
		{errors.New("unknown flag: --nope"), exitUsage},
		{fmt.Errorf("run mke2fs: %w", childExit(t, "kill -9 $$")), exitError},
		{fmt.Errorf("run cryptsetup: %w", childExit(t, "exit 5")), exitError},
	}
	for _, c := range cases {
		if got := exitCodeOf(c.err); got != c.want {
			t.Errorf("exitCodeOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if withExitCode(exitAuth, nil) != nil {
		t.Error("withExitCode(code, nil) is not nil")
	}
}

func TestCLIExitCodes(t *testing.T) {
	cases := []struct {
		args     []string
		want     int
		inStderr string
	}{
		{[]string{"version"}, exitOK, ""},
		{[]string{"nosuchcommand"}, exitUsage, "unknown command"},
		{[]string{"version", "--nosuchflag"}, exitUsage, "unknown flag"},
		{[]string{"version", "extra-arg"}, exitUsage, "unknown command"},
		{[]string{"--log-level", "loud", "version"}, exitUsage, "--log-level"},
		{[]string{"--log-format", "xml", "version"}, exitUsage, "--log-format"},
		{[]string{"--log-format", "json", "--log-level", "debug", "version"}, exitOK, ""},
		{[]string{"completion", "bash"}, exitOK, ""},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != c.want || !strings.Contains(stderr, c.inStderr) {
			t.Errorf("simplecloud %v: got exit %d stderr %q; want %d and %q", c.args, code, stderr, c.want, c.inStderr)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, _ := runCLI("version", "--json")
	var bi buildInfo
	if code != 0 || json.Unmarshal([]byte(out), &bi) != nil || bi.Version == "" || bi.Go == "" {
		t.Fatalf("got exit %d output %q; want JSON with version and go", code, out)
	}
}

// TestHelpForEveryCommand walks the whole command tree: every command has a
// short description and --help that exits 0 and prints its usage.
func TestHelpForEveryCommand(t *testing.T) {
	root := newRootCmd(&app{})
	root.InitDefaultCompletionCmd() // cobra adds it only when executing
	var walk func(c *cobra.Command)
	seen := map[string]bool{}
	walk = func(c *cobra.Command) {
		seen[c.CommandPath()] = true
		if c.Short == "" {
			t.Errorf("%q has no short description", c.CommandPath())
		}
		path := strings.Fields(c.CommandPath())[1:]
		code, out, stderr := runCLI(append(path, "--help")...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: got exit %d, stdout %q, stderr %q", c.CommandPath(), code, out, stderr)
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(root)
	for _, want := range []string{"simplecloud version", "simplecloud completion", "simplecloud completion bash"} {
		if !seen[want] {
			t.Errorf("did not walk %q; walked %v", want, seen)
		}
	}
}
