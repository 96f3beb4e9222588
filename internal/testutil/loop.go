package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// AttachLoop binds a loop device to the file backing with losetup (args go
// before the file, as in "-r" or "--direct-io=on") and returns the device.
// At cleanup it detaches the device only while it still holds backing.
//
// Detaching by name alone is a race between packages: go test runs the
// packages' root tests at once, a device detached early (by the code under
// test, or by a test) is free for another package's losetup, and a later
// "losetup -d /dev/loopN" then detaches that package's disk from under it.
// It runs losetup, the reference tool, rather than luks.AttachLoop, so that
// a test of the product does not rest on the product's own loop code.
func AttachLoop(t testing.TB, backing string, args ...string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(backing, &st); err != nil {
		t.Fatalf("attaching a loop device: %v", err)
	}
	out, err := exec.Command("losetup", append(append([]string{"-f", "--show"}, args...), backing)...).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup %s: %v: %s", backing, err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if err := detachIfBacking(dev, st); err != nil {
			t.Errorf("detaching %s: %v", dev, err)
		}
	})
	return dev
}

// detachIfBacking detaches the loop device dev if it is bound to the file
// whose stat is st. A device already detached, or bound by now to
// another file, is left alone.
func detachIfBacking(dev string, st unix.Stat_t) error {
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	defer f.Close() // with our open the kernel defers the detach to the last close
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err == unix.ENXIO {
		return nil // detached already
	}
	if err != nil {
		return fmt.Errorf("reading its status: %w", err)
	}
	if !holds(info, st) {
		return nil // detached already, and bound again by someone else
	}
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0); err != nil && err != unix.ENXIO {
		return fmt.Errorf("LOOP_CLR_FD: %w", err)
	}
	return nil
}

// holds says whether a loop device with status info is bound to the file
// with stat st. The inode on its device names the file: the caller keeps
// the file until the cleanup has run, so no other file can have them.
func holds(info *unix.LoopInfo64, st unix.Stat_t) bool {
	return info.Device == st.Dev && info.Inode == st.Ino
}
