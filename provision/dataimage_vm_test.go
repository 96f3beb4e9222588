//go:build vmtest

package provision_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"simplecloud/images"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/luks"
	"simplecloud/provision"
)

// TestVMDataImage builds a data image on the host and has the guest
// kernel's dm-crypt open it (cryptsetup open, and simplecloud luks open),
// mount the ext4 inside and find the files.
func TestVMDataImage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	big := make([]byte, 5<<20)
	rand.Read(big)
	for _, err := range []error{
		os.MkdirAll(filepath.Join(src, "sub dir"), 0o755),
		os.WriteFile(filepath.Join(src, "sub dir/big"), big, 0o600),
		os.WriteFile(filepath.Join(src, "odd name ✓"), []byte("hello\n"), 0o640),
		os.Symlink("sub dir/big", filepath.Join(src, "link")),
		os.WriteFile(filepath.Join(dir, "big"), big, 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := provision.PlanDataImage(64<<20, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "data.img")
	d := &provision.DataImage{Out: img, From: src, Label: "data", Layout: l,
		Format: luks.FormatOptions{PBKDF: luks.PBKDF{Type: "pbkdf2", Hash: "sha256", ForceIterations: 1000}, DigestIterations: 1000}}
	if _, err := d.Build(context.Background(), []byte("vm pass")); err != nil {
		t.Fatalf("build: %v", err)
	}
	m := vmtest.Boot(t, vmtest.Options{
		Options:  vm.Options{Disks: []vm.Disk{{Path: img, Serial: "SC-DATAIMG"}}},
		Programs: []string{"cryptsetup"},
		Files:    []images.File{{Src: filepath.Join(dir, "big"), Dst: "/big"}},
	})
	sh := func(script string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := m.RunCmd(ctx, vm.Cmd{Argv: []string{"sh", "-c", script}})
		if err != nil || r.Exit != 0 {
			t.Fatalf("%s: %v, exit %d\n%s%s", script, err, r.Exit, r.Stdout, r.Stderr)
		}
	}
	sh("printf 'vm pass' > /k && mkdir -p /mnt")
	for _, open := range []string{
		"cryptsetup open --key-file /k /dev/vda data",
		"simplecloud luks open /dev/vda data --key-file /k",
	} {
		sh(open)
		sh("mount -t ext4 /dev/mapper/data /mnt")
		sh("cmp '/mnt/sub dir/big' /big && cmp /mnt/link /big && test \"$(cat '/mnt/odd name ✓')\" = hello")
		sh("umount /mnt && cryptsetup close data")
	}
}
