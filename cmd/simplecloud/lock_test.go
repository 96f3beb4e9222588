package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockDryRunRefusals: where lock refuses (no configuration; a volume
// that is not open, or no device-mapper on this machine), lock --dry-run
// refuses with the same exit code and message.
func TestLockDryRunRefusals(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "simplecloud.toml")
	os.WriteFile(cfg, []byte("[volume]\nuuid = \""+"0b0e3c7a-5d0c-4b8e-9b6b-0a1f2e3d4c5b"+
		"\"\nname = \"sc-dry-run-test-not-open\"\nmount = \""+filepath.Join(dir, "mnt")+"\"\n"), 0o644)
	for _, c := range []struct {
		config string
		msg    string
	}{
		{filepath.Join(dir, "missing.toml"), "not installed"},
		{cfg, "lock"},
	} {
		code, out, stderr := runCLI("lock", "--config", c.config)
		dcode, dout, dstderr := runCLI("lock", "--config", c.config, "--dry-run")
		if code == 0 || !strings.Contains(stderr, c.msg) {
			t.Fatalf("lock --config %s: got exit %d, stderr %q; want a refusal with %q", c.config, code, stderr, c.msg)
		}
		if dcode != code || dstderr != stderr || dout != out {
			t.Errorf("lock --config %s --dry-run: got exit %d, stderr %q; want exit %d, stderr %q as without --dry-run",
				c.config, dcode, dstderr, code, stderr)
		}
	}
}
