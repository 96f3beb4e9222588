package disk

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtureImages are the device contents of each fixture tree, built in the
// test (the trees hold only sysfs, udev and proc files).
var fixtureImages = map[string]map[string][]piece{
	"system": {"sda": {
		{0, gptImage("0b9c1d2e-3f40-4152-8a63-7b8c9d0e1f20", 976773168)},
		{2048 * 512, vfatImage(0x5a1b2c3d, "EFI")},
		{1050624 * 512, ext4Image("a1b2c3d4-e5f6-4718-8a9b-0c1d2e3f4a5b", "root")},
	}},
	"blank": {"sdb": nil},
	"usb": {"sdc": {
		{0, mbrImage(0x1c2d3e4f, 0x0c, 2048, 60061696)},
		{2048 * 512, vfatImage(0x6e7f8091, "STICK")},
	}},
	"nvme": {"nvme0n1": nil},
	"luks-lvm": {"sdb": {
		{0, gptImage("7d8e9fa0-b1c2-43d4-85e6-f708192a3b4c", 3907029168)},
		{2048 * 512, luksImage(2, "5e8c0f0e-3b1c-4d55-9f0a-2a6f1c7d9e11", "")},
	}},
	"loop": {"loop0": nil},
	"swap": {"sdd": {{0, swapImage("c0ffee00-1234-4567-89ab-cdef01234567", "")}}},
}

// fixtureHost copies a fixture tree into a temporary directory, writes its
// device images under dev/ and returns a Host rooted there.
func fixtureHost(t *testing.T, name string) Host {
	t.Helper()
	src := filepath.Join("testdata", name)
	root := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(root, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	for dev, pieces := range fixtureImages[name] {
		writeImage(t, filepath.Join(root, "dev", dev), 1<<20, pieces...)
	}
	return Under(root, nil)
}

func discoverFixture(t *testing.T, name string, p Policy) []Disk {
	t.Helper()
	ds, err := fixtureHost(t, name).Discover(context.Background())
	if err != nil {
		t.Fatalf("discover %s: %v", name, err)
	}
	Decide(ds, p)
	Sort(ds)
	return ds
}

// onlyDisks is what `simplecloud disks` lists without --all.
func onlyDisks(ds []Disk) []Disk {
	return slices.DeleteFunc(ds, func(d Disk) bool { return !d.IsDisk() })
}

// TestFixturesGolden compares the `disks --json` document of each fixture
// with testdata/NAME.golden; -update rewrites them.
func TestFixturesGolden(t *testing.T) {
	for name := range fixtureImages {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, onlyDisks(discoverFixture(t, name, Policy{}))); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("disks --json for %s differs from %s:\ngot:\n%s", name, golden, buf.Bytes())
			}
		})
	}
}
