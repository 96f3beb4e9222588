package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWipeImageJSON wipes an image file with --json: progress objects, then
// a summary object with exactly the documented fields.
func TestWipeImageJSON(t *testing.T) {
	img := filepath.Join(t.TempDir(), "a.img")
	os.WriteFile(img, bytes.Repeat([]byte{0xa5}, 3<<20), 0o644)
	code, out, stderr := runCLI("wipe", img, "--mode", "zero", "--verify", "--yes", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range last {
		keys = append(keys, k)
	}
	if len(keys) != 5 || last["mode"] != "zero" || last["bytes"] != float64(3<<20) || last["verified"] != true ||
		last["seconds"] == nil || last["rate_bytes_per_sec"] == nil {
		t.Errorf("got summary %v, want exactly mode, bytes, seconds, rate_bytes_per_sec, verified", last)
	}
	for _, l := range lines[:len(lines)-1] {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil || e["phase"] == nil || e["bytes_done"] == nil || e["eta_seconds"] == nil {
			t.Errorf("progress line %q is not a progress object", l)
		}
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, make([]byte, 3<<20)) {
		t.Errorf("the image is not all zero")
	}
}

func TestWipeConfirmation(t *testing.T) {
	img := filepath.Join(t.TempDir(), "b.img")
	old := bytes.Repeat([]byte{0x5a}, 1<<20)
	os.WriteFile(img, old, 0o644)
	var out, errb bytes.Buffer
	code := run([]string{"wipe", img, "--mode", "random"}, strings.NewReader("b.img\n"), &out, &errb)
	if got, _ := os.ReadFile(img); code != exitError || !bytes.Equal(got, old) || !strings.Contains(errb.String(), "nothing was written") {
		t.Errorf("a wrong name: got exit %d, stderr %q, file changed %v; want exit 1 and the file untouched", code, errb.String(), !bytes.Equal(got, old))
	}
	code = run([]string{"wipe", img, "--mode", "random", "--verify"}, strings.NewReader(img+"\n"), &out, &errb)
	if got, _ := os.ReadFile(img); code != 0 || bytes.Equal(got, old) || !strings.Contains(out.String(), "verified") {
		t.Errorf("the right name: got exit %d, stderr %q; want the image wiped and verified", code, errb.String())
	}
}

func TestWipeBadInput(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "c.img")
	os.WriteFile(img, make([]byte, 4096), 0o644)
	empty := filepath.Join(dir, "empty.img")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"wipe", filepath.Join(dir, "missing"), "--mode", "zero", "--yes"}, exitError, "no such file or directory"},
		{[]string{"wipe", "no-such-disk", "--mode", "zero", "--yes"}, exitError, "no disk has that name"},
		{[]string{"wipe", dir, "--mode", "zero", "--yes"}, exitError, "not a block device or regular file (a directory)"},
		{[]string{"wipe", "/dev/null", "--mode", "zero", "--yes"}, exitError, "a character device"},
		{[]string{"wipe", empty, "--mode", "zero", "--yes"}, exitError, "size is zero"},
		{[]string{"wipe", img, "--yes"}, exitUsage, `"mode" not set`},
		{[]string{"wipe", img, "--mode", "urandom", "--yes"}, exitUsage, "unknown wipe mode"},
		{[]string{"wipe", img, "--mode", "zero", "--offset", "100", "--yes"}, exitUsage, "not a multiple"},
		{[]string{"wipe", img, "--mode", "zero", "--offset", "4096", "--yes"}, exitUsage, "outside"},
		{[]string{"wipe", img, "--mode", "discard", "--secure", "--yes"}, exitUsage, "secure discard needs"},
	} {
		code, _, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("simplecloud %v: got exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}
