package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/disk/holders"
)

// holdersTree writes a fake /proc, /sys and /dev: mapping "things" (dm-0,
// 253:0) mounted at /mnt/things, pid 50 with its cwd there, pid 60 not
// holding it, and a plain disk sda. It returns the hidden flags that point
// the commands at it.
func holdersTree(t *testing.T) []string {
	t.Helper()
	return holdersTreeIn(t, t.TempDir())
}

func holdersTreeIn(t *testing.T, root string) []string {
	t.Helper()
	files := map[string]string{
		"proc/1/mountinfo":             "1 0 8:0 / / rw - ext4 /dev/sda rw\n30 1 253:0 / /mnt/things rw - ext4 /dev/mapper/things rw\n",
		"proc/50/cmdline":              "sleep\x001000\x00",
		"proc/50/status":               "Uid:\t0\t0\t0\t0\n",
		"sys/class/block/dm-0/dev":     "253:0\n",
		"sys/class/block/dm-0/dm/name": "things\n",
		"sys/class/block/sda/dev":      "8:0\n",
		"dev/.keep":                    "",
	}
	links := map[string]string{
		"proc/self": "1", "proc/1/ns/mnt": "mnt:[4026531841]", "proc/1/root": "/", "proc/1/cwd": "/", "proc/1/exe": "/sbin/init",
		"proc/50/ns/mnt": "mnt:[4026531841]", "proc/50/root": "/", "proc/50/cwd": "/mnt/things/work", "proc/50/exe": "/usr/bin/sleep",
		"proc/60/ns/mnt": "mnt:[4026531841]", "proc/60/root": "/", "proc/60/cwd": "/home", "proc/60/exe": "/usr/bin/sleep",
		"sys/dev/block/253:0": "../../class/block/dm-0", "sys/dev/block/8:0": "../../class/block/sda",
	}
	for p, c := range files {
		mkParent(t, filepath.Join(root, p))
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		mkParent(t, filepath.Join(root, p))
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"--proc", filepath.Join(root, "proc"), "--sys", filepath.Join(root, "sys"), "--dev", filepath.Join(root, "dev")}
}

func mkParent(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestHoldersCommand(t *testing.T) {
	tree := holdersTree(t)
	code, stdout, stderr := runCLI(append([]string{"holders", "things", "--json"}, tree...)...)
	if code != exitOK {
		t.Fatalf("holders --json: exit %d: %s", code, stderr)
	}
	var r holders.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("holders --json: %v\n%s", err, stdout)
	}
	if r.Dev.String() != "253:0" || len(r.Processes) != 1 || r.Processes[0].PID != 50 ||
		r.Processes[0].Command != "sleep 1000" || r.Processes[0].Holds[0].Kind != "cwd" {
		t.Errorf("got %+v, want pid 50 (sleep 1000) holding 253:0 by its cwd", r)
	}
	// The JSON has the fields the issue names.
	for _, key := range []string{`"target"`, `"device"`, `"processes"`, `"pid"`, `"user"`, `"command"`, `"unit"`, `"holds"`, `"kind"`, `"path"`, `"mounts"`, `"swaps"`, `"loops"`, `"stacked"`} {
		if !strings.Contains(stdout, key) {
			t.Errorf("holders --json lacks %s", key)
		}
	}
	code, stdout, _ = runCLI(append([]string{"holders", "/mnt/things"}, tree...)...)
	if code != exitOK || !strings.Contains(stdout, "50 ") || !strings.Contains(stdout, "cwd /mnt/things/work") {
		t.Errorf("holders table: exit %d\n%s", code, stdout)
	}
	if code, _, _ := runCLI("holders"); code != exitUsage {
		t.Errorf("holders without a target: got exit %d, want %d", code, exitUsage)
	}
}

func TestCloseCommand(t *testing.T) {
	tree := holdersTree(t)
	code, stdout, stderr := runCLI(append([]string{"close", "things", "--dry-run", "--json", "--kill"}, tree...)...)
	if code != exitOK {
		t.Fatalf("close --dry-run: exit %d: %s", code, stderr)
	}
	var out struct {
		Plan   holders.Plan    `json:"plan"`
		Result *holders.Result `json:"result"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("close --dry-run --json: %v\n%s", err, stdout)
	}
	var steps []string
	for _, s := range out.Plan.Steps {
		steps = append(steps, s.String())
	}
	want := []string{"SIGTERM pid 50 (sleep 1000), wait, then SIGKILL", "unmount /mnt/things in this namespace", "close mapping things"}
	if strings.Join(steps, "|") != strings.Join(want, "|") || out.Result != nil {
		t.Errorf("got plan %q (result %v), want %q and no result", steps, out.Result, want)
	}
	for _, tc := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"close", "things"}, exitUsage, "refusing to stop its holders without --yes"},
		{[]string{"close", "bad/name"}, exitUsage, "/"},
		{[]string{"close", "sda"}, exitError, "not a device-mapper mapping"},
		{[]string{"close", "nosuch"}, exitError, "no such mapping"},
		{[]string{"close"}, exitUsage, "accepts 1 arg"},
	} {
		code, _, stderr := runCLI(append(tc.args, tree...)...)
		if code != tc.code || !strings.Contains(stderr, tc.inStderr) {
			t.Errorf("%v: got exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.inStderr)
		}
	}
}

// TestCloseRootFilesystem: a mapping that holds / is never closed (every
// process would be a holder).
func TestCloseRootFilesystem(t *testing.T) {
	root := t.TempDir()
	tree := holdersTreeIn(t, root)
	if err := os.WriteFile(filepath.Join(root, "proc/1/mountinfo"), []byte("1 0 253:0 / / rw - ext4 /dev/mapper/things rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(append([]string{"close", "things", "--yes", "--kill"}, tree...)...)
	if code != exitError || !strings.Contains(stderr, "root filesystem") {
		t.Errorf("got exit %d, stderr %q; want %d and a refusal naming the root filesystem", code, stderr, exitError)
	}
}
