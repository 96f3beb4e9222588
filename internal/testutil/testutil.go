// Package testutil holds what the tests of every package share: skipping a
// test that needs root and programs this machine lacks (NeedRoot), waiting
// for a condition against a deadline instead of sleeping (Eventually, Poll),
// running the steps of a long test as subtests that stop at the first
// failure (Step), and loop devices that other packages' tests cannot lose
// (AttachLoop).
//
// Only tests import it.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// NeedRoot skips t unless the test runs as root and every program named in
// tools is on PATH. The message says which is missing; CI runs the tests as
// root with the tools installed, so there they run.
func NeedRoot(t testing.TB, tools ...string) {
	t.Helper()
	if why := lacks(os.Geteuid(), exec.LookPath, tools); why != "" {
		t.Skip(why)
	}
}

// lacks says what of root and tools a process with effective uid euid is
// missing, looking programs up with look, or "" when it has all.
func lacks(euid int, look func(string) (string, error), tools []string) string {
	if euid != 0 {
		return fmt.Sprintf("needs root (running as uid %d); run the tests as root, as CI does", euid)
	}
	var missing []string
	for _, tool := range tools {
		if _, err := look(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("needs %s on PATH (%s)", strings.Join(missing, ", "), os.Getenv("PATH"))
	}
	return ""
}
