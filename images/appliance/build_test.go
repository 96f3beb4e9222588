package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"simplecloud/images/appliance/esp"
)

// TestWriteDisk writes the GPT and the ESP from a stand-in root and reads
// them back: the partitions as planned, the loader's entry and the copied
// files on the ESP, and a file esp.Add puts there afterwards.
func TestWriteDisk(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1796466729")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	const kernel = "6.1.0-50-cloud-amd64"
	for p, text := range map[string]string{
		"/usr/lib/systemd/boot/efi/systemd-bootx64.efi": "MZ systemd-boot",
		"/boot/vmlinuz-" + kernel:                       "MZ kernel",
		"/boot/initrd.img-" + kernel:                    "initrd",
	} {
		if err := writeRootFile(root, RootFile{Path: p, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	s := DefaultSpec(epoch)
	s.ESPSize, s.RootSize = 64*MiB, 512*MiB
	l, err := NewLayout(s)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "a.img")
	if err := writeDisk(img, l, root, kernel); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(img); err != nil || fi.Size() != l.Size {
		t.Fatalf("image size: got %v, %v; want %d", fi, err, l.Size)
	}

	st, err := file.OpenFromPath(img, true)
	if err != nil {
		t.Fatal(err)
	}
	table, err := gpt.Read(st, SectorSize, SectorSize)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Partitions) != 2 {
		t.Fatalf("partitions: got %d, want 2", len(table.Partitions))
	}
	for i, want := range []struct {
		p   Part
		typ gpt.Type
	}{{l.ESP, gpt.EFISystemPartition}, {l.Root, gpt.LinuxRootX86_64}} {
		got := table.Partitions[i]
		if got.Start != want.p.Start || got.End != want.p.End || got.Type != want.typ || got.GUID != want.p.GUID {
			t.Errorf("partition %d: got %d-%d %s %s, want %d-%d %s %s", i+1, got.Start, got.End, got.Type, got.GUID,
				want.p.Start, want.p.End, want.typ, want.p.GUID)
		}
	}
	if table.GUID != l.DiskGUID {
		t.Errorf("disk GUID: got %s, want %s", table.GUID, l.DiskGUID)
	}

	for p, want := range map[string]string{
		"/EFI/BOOT/BOOTX64.EFI":            "MZ systemd-boot",
		"/simplecloud/vmlinuz":             "MZ kernel",
		"/simplecloud/initrd.img":          "initrd",
		"/loader/entries/simplecloud.conf": l.ESPFiles(kernel)["/loader/entries/simplecloud.conf"],
	} {
		got, err := esp.Read(img, p)
		if err != nil || string(got) != want {
			t.Errorf("ESP %s: got %q, %v; want %q", p, got, err, want)
		}
	}

	if err := esp.Add(img, map[string][]byte{"/simplecloud/answers.toml": []byte("disk = \"virtio-data0\"\n")}); err != nil {
		t.Fatal(err)
	}
	if got, err := esp.Read(img, "/simplecloud/answers.toml"); err != nil || string(got) != "disk = \"virtio-data0\"\n" {
		t.Errorf("answers on the ESP: got %q, %v", got, err)
	}
	if got, err := esp.Read(img, "/simplecloud/vmlinuz"); err != nil || string(got) != "MZ kernel" {
		t.Errorf("the kernel after esp.Add: got %q, %v", got, err)
	}
}
