package wipe

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
)

// loopDevice attaches a backing file filled with random bytes to a free
// loop device, detached again when the test ends. It returns the device,
// the backing file and its original contents.
func loopDevice(t *testing.T, size int, args ...string) (dev, backing string, old []byte) {
	t.Helper()
	old = make([]byte, size)
	rand.Read(old)
	backing = filepath.Join(t.TempDir(), "loop.img")
	if err := os.WriteFile(backing, old, 0o644); err != nil {
		t.Fatal(err)
	}
	dev = testutil.AttachLoop(t, backing, args...)
	return dev, backing, old
}

// TestWipeLoopDeviceEveryMode wipes a real block device in every mode with
// verify, and checks the backing file byte for byte.
func TestWipeLoopDeviceEveryMode(t *testing.T) {
	testutil.NeedRoot(t, "losetup")
	for _, mode := range []Mode{Zero, Random, Discard, ZeroOut} {
		t.Run(string(mode), func(t *testing.T) {
			dev, backing, old := loopDevice(t, 16<<20)
			tg, err := Open(dev)
			if err != nil {
				t.Fatal(err)
			}
			if !tg.Block || tg.Size != 16<<20 || !tg.Direct() {
				t.Errorf("got block %v, size %d, direct %v; want a 16 MiB block device taking O_DIRECT", tg.Block, tg.Size, tg.Direct())
			}
			sum, err := Run(context.Background(), tg, Options{Mode: mode, Verify: true, ChunkSize: 1 << 20})
			tg.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !sum.Verified || sum.Bytes != 16<<20 {
				t.Errorf("got %+v, want 16 MiB verified", sum)
			}
			got, err := os.ReadFile(backing)
			if err != nil {
				t.Fatal(err)
			}
			checkWiped(t, mode, got, old)
		})
	}
}

func TestLoopDeviceRefusals(t *testing.T) {
	testutil.NeedRoot(t, "losetup")
	t.Run("read-only", func(t *testing.T) {
		dev, _, _ := loopDevice(t, 1<<20, "-r")
		if _, err := Open(dev); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("got %v, want a read-only error", err)
		}
	})
	t.Run("secure discard unsupported", func(t *testing.T) {
		dev, backing, old := loopDevice(t, 1<<20)
		tg, err := Open(dev)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		_, err = Run(context.Background(), tg, Options{Mode: Discard, Secure: true})
		if !errors.Is(err, errUnsupported) {
			t.Errorf("got %v, want secure discard not supported", err)
		}
		if got, _ := os.ReadFile(backing); !bytes.Equal(got, old) {
			t.Errorf("a refused secure discard changed the device")
		}
	})
	t.Run("held exclusively", func(t *testing.T) {
		dev, _, _ := loopDevice(t, 1<<20)
		tg, err := Open(dev)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		if _, err := Open(dev); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Errorf("second Open while the first holds it: got %v, want in use", err)
		}
	})
}

// TestIOErrorMidway fills a small tmpfs through a sparse file larger than
// it, so the write fails with ENOSPC part way; the error must name the
// offset and the resume point.
func TestIOErrorMidway(t *testing.T) {
	testutil.NeedRoot(t, "losetup")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	p := filepath.Join(dir, "sparse.img")
	os.WriteFile(p, nil, 0o644)
	os.Truncate(p, 16<<20)
	tg, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	_, err = Run(context.Background(), tg, Options{Mode: Zero, ChunkSize: 1 << 20, Workers: 1})
	var se *StopError
	if !errors.As(err, &se) || se.Resume <= 0 || se.Resume >= 16<<20 || se.At < se.Resume {
		t.Fatalf("got %v (%+v), want a StopError part way through", err, se)
	}
	if !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "offset") {
		t.Errorf("error %q does not name the cause and offset", err)
	}
}

// TestNoPermission checks the errors for targets root may not write: an
// immutable file and a file on a read-only mount.
func TestNoPermission(t *testing.T) {
	testutil.NeedRoot(t, "losetup")
	t.Run("immutable file", func(t *testing.T) {
		if _, err := exec.LookPath("chattr"); err != nil {
			t.Skipf("chattr not installed: %v", err)
		}
		p, _ := noisyFile(t, 4096)
		if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
			t.Skipf("chattr +i: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", p).Run() })
		if _, err := Open(p); !errors.Is(err, os.ErrPermission) {
			t.Errorf("got %v, want a permission error", err)
		}
	})
	t.Run("read-only mount", func(t *testing.T) {
		p, _ := noisyFile(t, 4096)
		dir := filepath.Dir(p)
		if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
			t.Skipf("read-only bind mount: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "read-only file system") {
			t.Errorf("got %v, want a read-only file system error", err)
		}
	})
}
