//go:build vmtest

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/disk"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

// TestVMDisksAndWipe boots a guest kernel with three virtio disks and mounts
// one as the "system" disk, running simplecloud from it. disks must list
// exactly the two others as eligible; wipe must refuse the mounted one and
// wipe the eligible ones, checked byte for byte in the guest and, after the
// guest is gone, in the disk image on the host.
func TestVMDisksAndWipe(t *testing.T) {
	dir := t.TempDir()
	images := []string{filepath.Join(dir, "system.img"), filepath.Join(dir, "data1.img"), filepath.Join(dir, "data2.img")}
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{Disks: []vm.Disk{
		{Path: images[0], Size: 64 << 20, Serial: "SC-SYSTEM"},
		{Path: images[1], Size: 64 << 20, Serial: "SC-DATA-1"},
		{Path: images[2], Size: 64 << 20, Serial: "SC-DATA-2"},
	}}, Programs: []string{"mkfs.ext4"}})
	g := guest{t, m}
	g.sh("mkfs.ext4 -q /dev/vda && mkdir -p /sysroot && mount /dev/vda /sysroot && cp /bin/simplecloud /sysroot/simplecloud")
	g.sh("dd if=/dev/urandom of=/dev/vdb bs=1M count=64 2>/dev/null && dd if=/dev/urandom of=/dev/vdc bs=1M count=4 2>/dev/null && sync")

	testutil.Step(t, "disks", func(t *testing.T) { vmDisksEligible(guest{t, m}) })
	testutil.Step(t, "wipe refuses the system disk", func(t *testing.T) {
		g := guest{t, m}
		for _, arg := range []string{"/dev/vda", "virtio-SC-SYSTEM", "/dev/disk/by-id/virtio-SC-SYSTEM"} {
			r := g.run("", sc, "wipe", arg, "--mode", "zero", "--yes", "--allow-signature")
			if r.Exit != 1 || !bytes.Contains(r.Stderr, []byte("mounted at /sysroot")) {
				t.Errorf("wipe %s: got exit %d, stderr %q; want a refusal naming the mount", arg, r.Exit, r.Stderr)
			}
		}
		g.sh("test -x /sysroot/simplecloud") // the system disk still works
	})
	testutil.Step(t, "wipe zero", func(t *testing.T) {
		g := guest{t, m}
		r := g.run("", sc, "wipe", "virtio-SC-DATA-1", "--mode", "zero", "--verify", "--yes", "--json")
		if r.Exit != 0 {
			t.Fatalf("wipe virtio-SC-DATA-1: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
		}
		lines := bytes.Split(bytes.TrimSpace(r.Stdout), []byte("\n"))
		var sum struct {
			Mode     string `json:"mode"`
			Bytes    int64  `json:"bytes"`
			Verified bool   `json:"verified"`
		}
		if json.Unmarshal(lines[len(lines)-1], &sum) != nil || sum.Mode != "zero" || sum.Bytes != 64<<20 || !sum.Verified {
			t.Errorf("got summary %s, want 64 MiB zero, verified", lines[len(lines)-1])
		}
		g.sh("cmp -n 67108864 /dev/vdb /dev/zero") // busybox cmp: equal, so it exits at once
	})
	testutil.Step(t, "wipe random with the name typed", func(t *testing.T) {
		g := guest{t, m}
		r := g.run("virtio-SC-DATA-2\n", sc, "wipe", "/dev/vdc", "--mode", "random", "--verify")
		if r.Exit != 0 || !bytes.Contains(r.Stdout, []byte("verified")) {
			t.Fatalf("wipe /dev/vdc with typed name: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
		}
		g.sh("umount /sysroot && sync")
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	})
	testutil.Step(t, "the images on the host", func(t *testing.T) { hostImagesWiped(t, images) })
}

// vmDisksEligible checks that disks lists exactly the two data disks as
// eligible, and the mounted system disk with its reasons.
func vmDisksEligible(g guest) {
	t := g.t
	r := g.run("", sc, "disks", "--json")
	var l disk.Listing
	if r.Exit != 0 || json.Unmarshal(r.Stdout, &l) != nil {
		t.Fatalf("disks --json: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	var eligible []string
	var system *disk.Disk
	for i, d := range l.Disks {
		if d.Eligible {
			eligible = append(eligible, d.ID)
		}
		if d.Name == "vda" {
			system = &l.Disks[i]
		}
	}
	if strings.Join(eligible, " ") != "virtio-SC-DATA-1 virtio-SC-DATA-2" {
		t.Errorf("got eligible %v, want exactly virtio-SC-DATA-1 and virtio-SC-DATA-2\n%s", eligible, r.Stdout)
	}
	if system == nil {
		t.Fatalf("disks does not list vda:\n%s", r.Stdout)
	}
	codes := map[string]bool{}
	for _, rs := range system.Reasons {
		codes[rs.Code] = true
	}
	for _, c := range []string{disk.ReasonMounted, disk.ReasonSystem, disk.ReasonBusy, disk.ReasonSignature} {
		if !codes[c] {
			t.Errorf("vda: reason %s missing from %+v", c, system.Reasons)
		}
	}
}

// hostImagesWiped reads the images after the guest is gone: data1 zeroed,
// data2 random, the system disk's ext4 superblock intact.
func hostImagesWiped(t *testing.T, images []string) {
	got, err := os.ReadFile(images[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 64<<20 || !bytes.Equal(got, make([]byte, 64<<20)) {
		t.Errorf("on the host, data1.img is not 64 MiB of zeroes after the wipe")
	}
	rnd, err := os.ReadFile(images[2])
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(rnd); off += 1 << 20 {
		if bytes.Contains(rnd[off:off+1<<20], make([]byte, 4096)) {
			t.Fatalf("on the host, data2.img has a zero 4 KiB block in the MiB at %d after the random wipe", off)
		}
	}
	sys, err := os.ReadFile(images[0])
	if err != nil || len(sys) < 2048 || sys[1024+0x38] != 0x53 || sys[1024+0x39] != 0xef {
		t.Errorf("on the host, system.img lost its ext4 superblock")
	}
}
