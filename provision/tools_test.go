package provision

import (
	"context"
	"os/exec"
	"testing"

	"simplecloud/internal/cmdrun"
)

// runTool runs a reference tool, skipping the test when it is missing.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if _, err := FindE2fsprogs(name); err != nil {
			t.Skipf("%s is not installed", name)
		}
	}
	out, err := cmdrun.Run(context.Background(), name, args...)
	return string(out), err
}
