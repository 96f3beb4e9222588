//go:build vmtest

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/disk"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
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
	run := func(stdin string, argv ...string) vm.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := m.RunCmd(ctx, vm.Cmd{Argv: argv, Stdin: []byte(stdin)})
		if err != nil {
			t.Fatalf("run %q: %v", argv, err)
		}
		return r
	}
	sh := func(script string) {
		t.Helper()
		if r := run("", "sh", "-c", script); r.Exit != 0 {
			t.Fatalf("%s: exit %d\n%s%s", script, r.Exit, r.Stdout, r.Stderr)
		}
	}
	sh("mkfs.ext4 -q /dev/vda && mkdir -p /sysroot && mount /dev/vda /sysroot && cp /bin/simplecloud /sysroot/simplecloud")
	sh("dd if=/dev/urandom of=/dev/vdb bs=1M count=64 2>/dev/null && dd if=/dev/urandom of=/dev/vdc bs=1M count=4 2>/dev/null && sync")
	const sc = "/sysroot/simplecloud" // runs from the "system" disk

	r := run("", sc, "disks", "--json")
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

	for _, arg := range []string{"/dev/vda", "virtio-SC-SYSTEM", "/dev/disk/by-id/virtio-SC-SYSTEM"} {
		r = run("", sc, "wipe", arg, "--mode", "zero", "--yes", "--allow-signature")
		if r.Exit != 1 || !bytes.Contains(r.Stderr, []byte("mounted at /sysroot")) {
			t.Errorf("wipe %s: got exit %d, stderr %q; want a refusal naming the mount", arg, r.Exit, r.Stderr)
		}
	}
	sh("test -x /sysroot/simplecloud") // the system disk still works

	r = run("", sc, "wipe", "virtio-SC-DATA-1", "--mode", "zero", "--verify", "--yes", "--json")
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
	sh("cmp -n 67108864 /dev/vdb /dev/zero") // busybox cmp: equal, so it exits at once

	// Typed confirmation: the by-id name on stdin.
	r = run("virtio-SC-DATA-2\n", sc, "wipe", "/dev/vdc", "--mode", "random", "--verify")
	if r.Exit != 0 || !bytes.Contains(r.Stdout, []byte("verified")) {
		t.Fatalf("wipe /dev/vdc with typed name: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	sh("umount /sysroot && sync")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
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
