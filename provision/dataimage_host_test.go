package provision

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/luks"
)

// TestDataImageHost builds an image from a directory with odd names, a
// symlink, modes and a 5 MiB file, and checks it with the reference tools
// without device-mapper: cryptsetup luksDump reads the header, the payload
// decrypted by the luks package passes e2fsck -fn, and debugfs rdump gives
// back the directory.
func TestDataImageHost(t *testing.T) {
	for _, tool := range []string{"cryptsetup", "e2fsck", "debugfs", "mke2fs"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := FindE2fsprogs(tool); err != nil {
				t.Skipf("%s not installed", tool)
			}
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	big := make([]byte, 5<<20)
	rand.Read(big)
	must(t, os.MkdirAll(filepath.Join(src, "sub dir/deeper"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "odd name ✓ 'q' $x"), []byte("hello\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(src, "sub dir/big"), big, 0o600))
	must(t, os.WriteFile(filepath.Join(src, "sub dir/deeper/exec"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Symlink("sub dir/big", filepath.Join(src, "link")))
	must(t, os.Chmod(filepath.Join(src, "sub dir"), 0o751))

	out := filepath.Join(dir, "data.img")
	l, err := PlanDataImage(64<<20, 0, 0)
	must(t, err)
	pass := []byte("correct horse")
	d := &DataImage{Out: out, From: src, Label: "data", Layout: l,
		Format: luks.FormatOptions{PBKDF: luks.PBKDF{Type: "pbkdf2", Hash: "sha256", ForceIterations: 1000}, DigestIterations: 1000}}
	if _, err := d.Build(context.Background(), pass); err != nil {
		t.Fatalf("build: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".data.img.ext4-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if st, err := os.Stat(out); err != nil || uint64(st.Size()) != l.Size {
		t.Fatalf("image size: %v, %v; want %d", st, err, l.Size)
	}
	dump, err := exec.Command("cryptsetup", "luksDump", out).CombinedOutput()
	if err != nil {
		t.Fatalf("cryptsetup luksDump: %v\n%s", err, dump)
	}
	if !strings.Contains(string(dump), "sector: 4096") || !strings.Contains(string(dump), "offset: 16777216") {
		t.Errorf("luksDump does not show the 4096-byte sectors at 16 MiB:\n%s", dump)
	}

	plain := decryptImage(t, out, pass, filepath.Join(dir, "plain.ext4"))
	if o, err := exec.Command(mustFind(t, "e2fsck"), "-fn", plain).CombinedOutput(); err != nil {
		t.Fatalf("e2fsck -fn: %v\n%s", err, o)
	}
	dumpe2fs, err := exec.Command(mustFind(t, "dumpe2fs"), "-h", plain).Output()
	must(t, err)
	if !strings.Contains(string(dumpe2fs), "Reserved block count:     0") {
		t.Errorf("filesystem has reserved blocks:\n%s", dumpe2fs)
	}
	if o, err := exec.Command("debugfs", "-R", "cat \"/odd name ✓ 'q' $x\"", plain).Output(); err != nil || string(o) != "hello\n" {
		t.Errorf("debugfs cat: %q, %v; want %q", o, err, "hello\n")
	}
	back := filepath.Join(dir, "back")
	must(t, os.Mkdir(back, 0o755))
	if o, err := exec.Command("debugfs", "-R", "rdump / "+back, plain).CombinedOutput(); err != nil {
		t.Fatalf("debugfs rdump: %v\n%s", err, o)
	}
	compareTrees(t, src, back)
}

// decryptImage opens the image with pass through the luks package and
// writes the plaintext payload to path.
func decryptImage(t *testing.T, img string, pass []byte, path string) string {
	t.Helper()
	f, err := os.Open(img)
	must(t, err)
	defer f.Close()
	st, err := f.Stat()
	must(t, err)
	h, err := luks.ReadHeader(f)
	must(t, err)
	vk, _, err := h.Unlock(f, pass, -1)
	if err != nil {
		t.Fatalf("unlock: %v", err)
	}
	p, err := h.Payload(readOnly{f}, vk, uint64(st.Size()))
	must(t, err)
	o, err := os.Create(path)
	must(t, err)
	defer o.Close()
	if _, err := io.Copy(o, io.NewSectionReader(p, 0, p.Size())); err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return path
}

type readOnly struct{ *os.File }

func (readOnly) WriteAt([]byte, int64) (int, error) { return 0, os.ErrPermission }

// compareTrees checks that got holds the same names, types, modes,
// symlink targets and contents as want.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(want, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		if rel == "." {
			return nil
		}
		seen++
		ws, _ := os.Lstat(p)
		gs, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s missing from the image: %v", rel, err)
			return nil
		}
		if ws.Mode() != gs.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gs.Mode(), ws.Mode())
		}
		switch {
		case ws.Mode()&fs.ModeSymlink != 0:
			wl, _ := os.Readlink(p)
			gl, _ := os.Readlink(filepath.Join(got, rel))
			if wl != gl {
				t.Errorf("%s: link to %q, want %q", rel, gl, wl)
			}
		case ws.Mode().IsRegular():
			wb, _ := os.ReadFile(p)
			gb, _ := os.ReadFile(filepath.Join(got, rel))
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s: %d bytes differ from the source's %d", rel, len(gb), len(wb))
			}
		}
		return nil
	})
	must(t, err)
	if seen < 6 {
		t.Errorf("walked %d entries, want at least 6", seen)
	}
}

func mustFind(t *testing.T, name string) string {
	t.Helper()
	p, err := FindE2fsprogs(name)
	if err != nil {
		p, err = exec.LookPath(name)
	}
	must(t, err)
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
