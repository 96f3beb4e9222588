package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
	"simplecloud/luks"
	"simplecloud/provision"
)

// fixture is the disk package's fixture tree of a machine with one blank
// disk, for tests that stop before discovery matters.
const fixture = "../../disk/testdata/blank"

// loopDisk attaches a blank loop device for a dry run (root only).
func loopDisk(t *testing.T) string {
	t.Helper()
	testutil.NeedRoot(t, "losetup")
	dev, _ := attachLoop(t, 64<<20)
	return dev
}

func TestInstallDryRun(t *testing.T) {
	etc, dev := t.TempDir(), loopDisk(t)
	code, out, stderr := runCLI("install", "--etc", etc, "--disk", dev, "--wipe", "zero", "--dry-run")
	if code != 0 {
		t.Fatalf("got exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"Install plan for ", "zero wipe", "partition", dev + "p1", "mke2fs -t ext4 -m 0", "Nothing was written (--dry-run)."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("install", "--etc", etc, "--disk", dev, "--whole-disk", "--dry-run", "--json")
	var v struct{ Plan provision.Plan }
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Plan.Target != dev || v.Plan.Has(provision.StepPartition) {
		t.Errorf("--json: got exit %d, plan %+v from %q; want whole-disk target %s", code, v.Plan, out, dev)
	}
	if entries, _ := os.ReadDir(etc); len(entries) != 0 {
		t.Errorf("a dry run wrote %v", entries)
	}
}

func TestInstallAnswers(t *testing.T) {
	dir, dev := t.TempDir(), loopDisk(t)
	ans := filepath.Join(dir, "answers.toml")
	os.WriteFile(ans, []byte("disk = \""+dev+"\"\nwipe = \"random\"\nwhole-disk = true\nlabel = \"vault\"\n"), 0o644)
	code, out, stderr := runCLI("install", "--etc", dir, "--answers", ans, "--label", "fromflag", "--dry-run")
	if code != 0 {
		t.Fatalf("got exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"random wipe", "LUKS2 on " + dev + ",", "label fromflag"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan from answers lacks %q (the flag wins over the file):\n%s", want, out)
		}
	}
	os.WriteFile(ans, []byte("disk = \"sdb\"\npassphrase = \"x\"\n"), 0o644)
	if code, _, stderr := runCLI("install", "--root", fixture, "--answers", ans, "--dry-run"); code != exitUsage || !strings.Contains(stderr, `unknown key "passphrase"`) {
		t.Errorf("unknown key: got exit %d %q, want usage", code, stderr)
	}
}

func TestInstallUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"install"}, "--disk is required"},
		{[]string{"install", "--disk", "sdb", "--wipe", "shred"}, "shred"},
		{[]string{"install", "--disk", "sdb", "--label", "much-too-long-for-ext4"}, "ext4 limit"},
	} {
		code, _, stderr := runCLI(append(tc.args, "--root", fixture)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: got exit %d %q, want usage with %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestInstallRefusesInstalled(t *testing.T) {
	etc, dev := t.TempDir(), loopDisk(t)
	cfg := &provision.Config{Volume: provision.VolumeConfig{UUID: "u", Name: "simplecloud", Mount: "/srv/x", Disk: "virtio-OLD"}}
	b, _ := cfg.Marshal()
	os.MkdirAll(filepath.Join(etc, "simplecloud"), 0o755)
	os.WriteFile(filepath.Join(etc, "simplecloud", "simplecloud.toml"), b, 0o644)
	code, _, stderr := runCLI("install", "--etc", etc, "--disk", dev, "--dry-run")
	if code != exitError || !strings.Contains(stderr, "already configured") || !strings.Contains(stderr, "--reformat") {
		t.Errorf("got exit %d %q, want a refusal naming --reformat", code, stderr)
	}
	if code, _, stderr := runCLI("install", "--etc", etc, "--disk", dev, "--dry-run", "--reformat"); code != 0 {
		t.Errorf("--reformat: got exit %d %q", code, stderr)
	}
}

func TestUnlockExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("unlock /dev/vdb1: 3 tries: %w", luks.ErrWrongKey), exitAuth},
		{fmt.Errorf("find volume: %w", provision.ErrMissingDisk), exitMissingDisk},
		{fmt.Errorf("unlock: %w", provision.ErrAlreadyOpen), exitAlreadyOpen},
		{fmt.Errorf("lock: %w", provision.ErrNotOpen), exitAlreadyOpen},
		{fmt.Errorf("ask: %w", provision.ErrCancelled), exitTimeout},
		{errors.New("e2fsck failed"), exitError},
	} {
		if got := exitCodeOf(unlockExit(tc.err)); got != tc.want {
			t.Errorf("got exit %d for %v, want %d", got, tc.err, tc.want)
		}
	}
	code, _, stderr := runCLI("unlock", "--config", filepath.Join(t.TempDir(), "none.toml"))
	if code != exitError || !strings.Contains(stderr, "not installed") {
		t.Errorf("no config: got exit %d %q", code, stderr)
	}
}
