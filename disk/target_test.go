package disk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDevNumber(t *testing.T) {
	cases := []struct {
		major, minor uint32
		want         string
	}{
		{8, 17, "8:17"},
		{253, 300, "253:300"},         // a minor above 255 lives in the high bits
		{259, 1048575, "259:1048575"}, // the largest 20-bit minor
		{4095, 0, "4095:0"},
	}
	for _, c := range cases {
		if got := DevNumber(unix.Mkdev(c.major, c.minor)); got != c.want {
			t.Errorf("DevNumber(Mkdev(%d, %d)): got %q, want %q", c.major, c.minor, got, c.want)
		}
	}
}

func TestResolveTarget(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.img")
	busy := filepath.Join(dir, "busy.img")
	for _, p := range []string{img, busy} {
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spare := Disk{Name: "vdc", Path: "/dev/vdc", Dev: "252:32", ID: "virtio-SC-SPARE", ByID: []string{"virtio-SC-SPARE"},
		Kind: KindVirtual, SizeBytes: 1 << 30, Eligible: true}
	sys := Disk{Name: "vda", Path: "/dev/vda", Dev: "252:0", ID: "virtio-SC-SYSTEM", Kind: KindVirtual, Reasons: []Reason{
		{Code: ReasonMounted, Detail: "vda1 is mounted at /"},
		{Code: ReasonSignature, Detail: "a GPT partition table", Override: "--allow-signature", Allowed: true},
	}}
	loop := Disk{Name: "loop0", Path: "/dev/loop0", Dev: "7:0", Kind: KindOther, BackingFile: busy}
	disks := []Disk{spare, sys, loop}
	calls := 0
	discover := func() ([]Disk, error) { calls++; return disks, nil }
	cases := []struct {
		name, arg string
		want      Target
		wantErr   string // substring of the error; "" for none
		discovers bool
	}{
		{"image file", img, Target{Path: img, Name: img, Summary: "image file " + img}, "", true},
		{"image backing a loop", busy, Target{}, "backs the loop device /dev/loop0", true},
		{"directory: left to the opener", dir, Target{Path: dir}, "", false},
		{"by-id name", "virtio-SC-SPARE", Target{Path: "/dev/vdc", Name: "virtio-SC-SPARE", Summary: "virtio-SC-SPARE (/dev/vdc, 1 GiB, virtual)"}, "", true},
		{"by-id path", "/dev/disk/by-id/virtio-SC-SPARE", Target{Path: "/dev/vdc", Name: "virtio-SC-SPARE", Summary: "virtio-SC-SPARE (/dev/vdc, 1 GiB, virtual)"}, "", true},
		{"kernel name", "vdc", Target{Path: "/dev/vdc", Name: "virtio-SC-SPARE", Summary: "virtio-SC-SPARE (/dev/vdc, 1 GiB, virtual)"}, "", true},
		{"ineligible disk", "vda", Target{}, "not eligible:\n  mounted: vda1 is mounted at /", true},
		{"unknown name", "sdz", Target{}, "no such file, and no disk has that name", true},
		{"missing path", filepath.Join(dir, "missing"), Target{}, "no such file or directory", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls = 0
			got, err := ResolveTarget(c.arg, "/", discover)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, c.wantErr)
				}
			} else if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
			if (calls > 0) != c.discovers {
				t.Errorf("got %d discoveries, want some: %v", calls, c.discovers)
			}
		})
	}
	var refused RefusedError
	if _, err := ResolveTarget("vda", "/", discover); !errors.As(err, &refused) || refused.Disk.Name != "vda" ||
		strings.Contains(err.Error(), "GPT") {
		t.Errorf("got %v, want a RefusedError for vda listing only the reasons not lifted", err)
	}
	// A fixture root is prefixed to the disk's path.
	if got, _ := ResolveTarget("vdc", "/tmp/fixture", discover); got.Path != "/tmp/fixture/dev/vdc" {
		t.Errorf("got path %q under a fixture root, want /tmp/fixture/dev/vdc", got.Path)
	}
}

// TestResolveTargetDeviceNode matches a block device node by its number,
// whatever its name, and refuses one that is not a whole disk.
func TestResolveTargetDeviceNode(t *testing.T) {
	dir := t.TempDir()
	node := func(name string, major, minor uint32) string {
		p := filepath.Join(dir, name)
		if err := unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(major, minor))); err != nil {
			t.Skipf("make a block device node (needs root): %v", err)
		}
		return p
	}
	whole, part := node("some-link-name", 252, 32), node("part", 252, 33)
	disks := []Disk{{Name: "vdc", Path: "/dev/vdc", Dev: "252:32", ID: "virtio-SC-SPARE", Kind: KindVirtual, SizeBytes: 1 << 30, Eligible: true}}
	discover := func() ([]Disk, error) { return disks, nil }
	if got, err := ResolveTarget(whole, "/", discover); err != nil || got.Name != "virtio-SC-SPARE" {
		t.Errorf("whole disk node: got %+v, %v; want virtio-SC-SPARE", got, err)
	}
	if _, err := ResolveTarget(part, "/", discover); err == nil || !strings.Contains(err.Error(), "not a whole disk") {
		t.Errorf("partition node: got %v, want a refusal naming it not a whole disk", err)
	}
}
