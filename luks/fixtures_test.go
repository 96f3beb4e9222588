package luks

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sharedTestdata is ../shared/testdata/luks beside the repository.
func sharedTestdata(t *testing.T) string {
	t.Helper()
	for _, d := range []string{"../../shared/testdata/luks", "../../../shared/testdata/luks"} {
		if _, err := os.Stat(filepath.Join(d, "compatimage2.img.xz")); err == nil {
			return d
		}
	}
	t.Skip("shared/testdata/luks not found beside the repository")
	return ""
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, d := range []string{"/usr/sbin", "/sbin"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				return filepath.Join(d, name)
			}
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func unxz(t *testing.T, src, dst string) {
	t.Helper()
	needTool(t, "xz")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("xz", "-dc", src)
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("xz -dc %s: %v", src, err)
	}
}

func TestFixtureCompatImage2(t *testing.T) {
	dir := sharedTestdata(t)
	img := filepath.Join(t.TempDir(), "compat2.img")
	unxz(t, filepath.Join(dir, "compatimage2.img.xz"), img)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := ReadHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 2 || h.NeedsRepair() {
		t.Fatalf("version %d, repair %v %v", h.Version, h.PrimaryErr, h.SecondaryErr)
	}
	k0, s0, err := h.Unlock(f, []byte("compatkey"), AnySlot)
	if err != nil || s0 != 0 {
		t.Fatalf("slot 0: %v slot %d", err, s0)
	}
	k1, s1, err := h.Unlock(f, []byte("0123456789abcdef"), 1)
	if err != nil || s1 != 1 {
		t.Fatalf("slot 1: %v slot %d", err, s1)
	}
	if string(k0) != string(k1) {
		t.Fatal("slots give different keys")
	}
	if _, _, err := h.Unlock(f, []byte("wrong"), 0); err != ErrWrongKey {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestFixtureMetadataSizes(t *testing.T) {
	dir := sharedTestdata(t)
	needTool(t, "tar")
	tmp := t.TempDir()
	if b, err := exec.Command("tar", "-xJf", filepath.Join(dir, "luks2_mda_images.tar.xz"), "-C", tmp).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, b)
	}
	imgs, _ := filepath.Glob(filepath.Join(tmp, "test_image_*"))
	if len(imgs) != 9 {
		t.Fatalf("found %d images, want 9", len(imgs))
	}
	for _, img := range imgs {
		t.Run(filepath.Base(img), func(t *testing.T) {
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := ReadHeader(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := h.Unlock(f, []byte("Qx3qn46vq0v"), AnySlot); err != nil {
				t.Fatal(err)
			}
		})
	}
}
