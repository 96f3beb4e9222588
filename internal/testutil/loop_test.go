package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// backingFile makes a sparse file of 1 MiB for a loop device.
func backingFile(t *testing.T, name string) (string, unix.Stat_t) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 1<<20); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return p, st
}

// backingOf reads the file a loop device is bound to, "" when none.
func backingOf(dev string) string {
	b, _ := os.ReadFile("/sys/block/" + filepath.Base(dev) + "/loop/backing_file")
	return strings.TrimSpace(string(b))
}

func TestDetachIfBacking(t *testing.T) {
	NeedRoot(t, "losetup")
	mine, st := backingFile(t, "mine")
	out, err := exec.Command("losetup", "-f", "--show", mine).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { detachIfBacking(dev, st) })

	// Bound to another file (what a late cleanup by name meets when the
	// device was freed and taken again): left alone.
	_, other := backingFile(t, "other")
	if err := detachIfBacking(dev, other); err != nil {
		t.Fatal(err)
	}
	if got := backingOf(dev); got != mine {
		t.Fatalf("a device bound to another file was detached: backing %q", got)
	}
	// Bound to ours: detached.
	if err := detachIfBacking(dev, st); err != nil {
		t.Fatal(err)
	}
	if err := Poll(5*time.Second, func() error {
		if got := backingOf(dev); got != "" {
			return os.ErrExist
		}
		return nil
	}); err != nil {
		t.Fatalf("%s still bound to %q", dev, backingOf(dev))
	}
	// Detached already: no error.
	if err := detachIfBacking(dev, st); err != nil {
		t.Errorf("detaching a free device: %v", err)
	}
}

func TestAttachLoop(t *testing.T) {
	NeedRoot(t, "losetup")
	var dev string
	t.Run("attach", func(t *testing.T) {
		p, _ := backingFile(t, "disk")
		dev = AttachLoop(t, p, "-r")
		if got := backingOf(dev); got != p {
			t.Fatalf("%s bound to %q, want %q", dev, got, p)
		}
		if ro, _ := os.ReadFile("/sys/block/" + filepath.Base(dev) + "/ro"); strings.TrimSpace(string(ro)) != "1" {
			t.Errorf("-r did not reach losetup: ro=%q", ro)
		}
	})
	if err := Poll(5*time.Second, func() error {
		if backingOf(dev) != "" {
			return os.ErrExist
		}
		return nil
	}); err != nil {
		t.Errorf("the cleanup left %s bound to %q", dev, backingOf(dev))
	}
}
