package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/disk"
	"simplecloud/internal/testutil"
)

// attachLoop attaches a new sparse backing file of size bytes to a free
// loop device, detached when the test ends.
func attachLoop(t *testing.T, size int64) (dev, backing string) {
	t.Helper()
	backing = filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(backing)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	dev = testutil.AttachLoop(t, backing)
	return dev, backing
}

func listDisk(t *testing.T, dev string) disk.Disk {
	t.Helper()
	code, out, stderr := runCLI("disks", "--json")
	var l disk.Listing
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("disks --json: exit %d, stderr %q", code, stderr)
	}
	for _, d := range l.Disks {
		if d.Path == dev {
			return d
		}
	}
	t.Fatalf("disks --json does not list %s", dev)
	return disk.Disk{}
}

func reasonCodes(d disk.Disk) map[string]bool {
	m := map[string]bool{}
	for _, r := range d.Reasons {
		m[r.Code] = true
	}
	return m
}

// TestWipeRefusesMountedLoop mounts an ext4 on a loop device: disks must
// list it as ineligible with its reasons and wipe must refuse it; once
// unmounted it is eligible with --allow-signature and wipes by its name.
func TestWipeRefusesMountedLoop(t *testing.T) {
	testutil.NeedRoot(t, "losetup", "mkfs.ext4", "mount", "umount")
	dev, backing := attachLoop(t, 64<<20)
	if out, err := exec.Command("mkfs.ext4", "-q", dev).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", dev, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			exec.Command("umount", mnt).Run()
		}
	})

	d := listDisk(t, dev)
	codes := reasonCodes(d)
	if d.Eligible || !codes[disk.ReasonMounted] || !codes[disk.ReasonBusy] || !codes[disk.ReasonSignature] {
		t.Errorf("mounted %s: got eligible %v, reasons %+v; want ineligible: mounted, busy, signature", dev, d.Eligible, d.Reasons)
	}
	if d.ID != "loop:"+backing {
		t.Errorf("got name %q, want loop:%s", d.ID, backing)
	}
	head := func() []byte {
		b := make([]byte, 2048)
		f, _ := os.Open(backing)
		defer f.Close()
		f.ReadAt(b, 0)
		return b
	}
	before := head()
	code, _, stderr := runCLI("wipe", dev, "--mode", "zero", "--yes", "--allow-signature")
	if code != exitError || !strings.Contains(stderr, "not eligible") || !strings.Contains(stderr, "mounted at "+mnt) {
		t.Errorf("wipe of the mounted device: got exit %d, stderr %q; want a refusal naming the mount", code, stderr)
	}
	if !bytes.Equal(head(), before) {
		t.Fatalf("the refused wipe changed the device")
	}
	code, _, stderr = runCLI("wipe", backing, "--mode", "zero", "--yes")
	if code != exitError || !strings.Contains(stderr, "backs the loop device") {
		t.Errorf("wipe of the backing file: got exit %d, stderr %q; want a refusal", code, stderr)
	}

	if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v: %s", err, out)
	}
	mounted = false
	d = listDisk(t, dev)
	if d.Eligible || len(d.Reasons) != 1 || d.Reasons[0].Code != disk.ReasonSignature {
		t.Errorf("unmounted %s: got eligible %v, reasons %+v; want only the ext4 signature", dev, d.Eligible, d.Reasons)
	}
	var out, errb bytes.Buffer
	code = run([]string{"wipe", dev, "--mode", "random", "--verify", "--allow-signature"}, strings.NewReader(d.ID+"\n"), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "verified") {
		t.Fatalf("wipe by name: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	if d = listDisk(t, dev); !d.Eligible {
		t.Errorf("after the wipe: got reasons %+v, want eligible (no signature left)", d.Reasons)
	}
}
