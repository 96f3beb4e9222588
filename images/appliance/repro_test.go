//go:build deb

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// DebEnv names the package TestImageReproducible installs into its images
// (make vmtest-appliance sets it to make deb's package).
const DebEnv = "SIMPLECLOUD_APPLIANCE_DEB"

// TestImageReproducible builds the image twice from the same inputs and
// wants the same bytes, then once with another commit time and wants
// other bytes; e2fsck finds the root filesystem clean. The base root comes
// from the cache in ~/.cache/simplecloud (made once with mmdebstrap when
// missing, a few minutes).
func TestImageReproducible(t *testing.T) {
	testutil.NeedRoot(t, "mmdebstrap", "mke2fs", "debugfs", "e2fsck", "chroot", "tar")
	deb := os.Getenv(DebEnv)
	if deb == "" {
		t.Skipf("%s is not set: make vmtest-appliance sets it to make deb's package", DebEnv)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	epoch := time.Unix(1796466729, 0)
	buildAt := func(t *testing.T, name string, at time.Time) (string, string) {
		t.Helper()
		t.Setenv("SOURCE_DATE_EPOCH", "") // main sets it; the test sets it per build
		b := build{Spec: DefaultSpec(at), Deb: deb, Out: filepath.Join(dir, name), Cache: filepath.Join(home, ".cache", "simplecloud"),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		start := time.Now()
		if err := b.main(); err != nil {
			t.Fatal(err)
		}
		t.Logf("built %s in %v", name, time.Since(start).Round(time.Millisecond))
		return b.Out, fileHash(t, b.Out)
	}
	a, ha := buildAt(t, "a.img", epoch)
	_, hb := buildAt(t, "b.img", epoch)
	_, hc := buildAt(t, "c.img", epoch.Add(time.Second))
	if ha != hb {
		t.Errorf("two builds from the same inputs: sha256 %s and %s, want the same", ha, hb)
	}
	if ha == hc {
		t.Errorf("a build with another commit time: sha256 %s again, want another", hc)
	}

	l, err := NewLayout(DefaultSpec(epoch))
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "root.ext4")
	copyRange(t, a, rootfs, l.Root.Offset(), l.Root.Bytes())
	if out, err := exec.Command("e2fsck", "-fn", rootfs).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn of the root filesystem: %v\n%s", err, out)
	}
}

func fileHash(t *testing.T, path string) string {
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
	return hex.EncodeToString(h.Sum(nil))
}

func copyRange(t *testing.T, from, to string, off, n int64) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(in, off, n)); err != nil {
		t.Fatal(err)
	}
}
