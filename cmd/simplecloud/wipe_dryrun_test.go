package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
)

// fileSum returns the SHA-256 of the whole file or device at path.
func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var s [sha256.Size]byte
	copy(s[:], h.Sum(nil))
	return s
}

// patterned writes size bytes of a repeating pattern to a new image file.
func patterned(t *testing.T, size int) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "p.img")
	if err := os.WriteFile(img, bytes.Repeat([]byte("simplecloud dry run "), size/20), 0o644); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestWipeDryRunImage: every mode's dry run names the image, the mode's
// operation and the byte range, asks nothing and leaves the bytes alone.
func TestWipeDryRunImage(t *testing.T) {
	img := patterned(t, 4<<20)
	abs, _ := filepath.Abs(img)
	before := fileSum(t, img)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--mode", "zero", "--verify"}, []string{"would wipe image file " + abs, "write zeroes, then read everything back",
			"bytes 0 to 4194299 (4 MiB)", "estimate:", "Nothing was written"}},
		{[]string{"--mode", "random", "--offset", "1048576"}, []string{"AES-128-CTR keystream", "bytes 1048576 to 4194299", "resuming at offset 1048576"}},
		{[]string{"--mode", "discard"}, []string{"punch a hole", "no estimate"}},
		{[]string{"--mode", "zeroout"}, []string{"fallocate ZERO_RANGE"}},
	} {
		// stdin says nothing: a dry run must not ask.
		code, out, stderr := runCLI(append([]string{"wipe", img, "--dry-run"}, c.args...)...)
		if code != 0 || stderr != "" {
			t.Errorf("wipe --dry-run %v: got exit %d, stderr %q; want 0 and nothing on stderr", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("wipe --dry-run %v: output lacks %q:\n%s", c.args, w, out)
			}
		}
		if fileSum(t, img) != before {
			t.Fatalf("wipe --dry-run %v changed the image", c.args)
		}
	}
	code, out, stderr := runCLI("wipe", img, "--mode", "zero", "--dry-run", "--json")
	var p map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("wipe --dry-run --json: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if p["dry_run"] != true || p["name"] != abs || p["mode"] != "zero" || p["bytes"] != float64(4194300) ||
		p["start"] != float64(0) || p["end"] != float64(4194300) || p["estimate_seconds"] == nil || p["operation"] != "write zeroes" {
		t.Errorf("got plan %v, want dry_run, name, mode zero, 4194300 bytes from 0, an estimate", p)
	}
	if fileSum(t, img) != before {
		t.Fatal("wipe --dry-run --json changed the image")
	}
}

// TestWipeDryRunRefusals: the dry run refuses what the wipe refuses, with
// the same exit code and message.
func TestWipeDryRunRefusals(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "c.img")
	os.WriteFile(img, make([]byte, 4096), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"wipe", "/dev/null", "--mode", "zero", "--dry-run"}, exitError, "a character device"},
		{[]string{"wipe", "no-such-disk", "--mode", "zero", "--dry-run"}, exitError, "no disk has that name"},
		{[]string{"wipe", img, "--mode", "zero", "--offset", "4096", "--dry-run"}, exitUsage, "outside"},
		{[]string{"wipe", img, "--mode", "discard", "--secure", "--dry-run"}, exitUsage, "secure discard needs"},
	} {
		code, out, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) || strings.Contains(out, "would wipe") {
			t.Errorf("simplecloud %v: got exit %d, stdout %q, stderr %q; want %d and %q", c.args, code, out, stderr, c.code, c.msg)
		}
	}
}

// TestWipeDryRunLoop runs the dry run on a loop device: it names the disk
// by its stable name and leaves it alone; the file backing it is refused
// under --dry-run as without it.
func TestWipeDryRunLoop(t *testing.T) {
	testutil.NeedRoot(t, "losetup")
	dev, backing := attachLoop(t, 32<<20)
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte{0x5c}, 1<<20))
	f.Close()
	before := fileSum(t, dev)
	name := listDisk(t, dev).ID
	code, out, stderr := runCLI("wipe", dev, "--mode", "random", "--verify", "--dry-run")
	if code != 0 {
		t.Fatalf("wipe %s --dry-run: exit %d, stderr %q", dev, code, stderr)
	}
	for _, w := range []string{"would wipe " + name + " (" + dev + ", 32 MiB", "AES-128-CTR", "bytes 0 to 33554431 (32 MiB)", "estimate: ", "type " + name} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if fileSum(t, dev) != before || fileSum(t, backing) != before {
		t.Fatal("wipe --dry-run changed the loop device")
	}
	code, _, stderr = runCLI("wipe", backing, "--mode", "zero", "--dry-run")
	if code != exitError || !strings.Contains(stderr, "backs the loop device") {
		t.Errorf("dry run on the backing file: got exit %d, stderr %q; want 1 and a refusal", code, stderr)
	}
}
