package disk

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Signature is a filesystem, container or partition-table signature found
// in a superblock. Type is one of luks1, luks2, ext2, ext3, ext4, xfs,
// btrfs, swap, lvm2, md, vfat, ntfs, iso9660, gpt and mbr.
type Signature struct {
	Type  string `json:"type"`
	UUID  string `json:"uuid,omitempty"`
	Label string `json:"label,omitempty"`
}

// String describes the signature for a person: "ext4 (label data)".
func (s Signature) String() string {
	what := s.Type
	switch s.Type {
	case "gpt", "mbr":
		what += " partition table"
	case "luks1", "luks2":
		what += " container"
	case "lvm2":
		what += " physical volume"
	case "md":
		what += " RAID member"
	case "swap":
		what += " space"
	default:
		what += " filesystem"
	}
	if s.Label != "" {
		what += fmt.Sprintf(" (label %q)", s.Label)
	}
	return what
}

// probeSize is how much of the start of a device Probe reads: enough for the
// btrfs superblock at 64 KiB and the iso9660 descriptor at 32 KiB.
const probeSize = 128 << 10

// luks2SecondaryOffsets are where LUKS2 keeps its second header copy, one
// for each legal metadata size; Probe finds a LUKS2 device whose first
// header was overwritten.
var luks2SecondaryOffsets = []int64{16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20}

// Probe reads the superblocks at the start of a device or image of the
// given size and returns every signature it recognises, containers and
// filesystems first, partition tables last. Bytes beyond the end of a short
// image read as zero. It does not rely on udev or blkid.
func Probe(r io.ReaderAt, size int64) ([]Signature, error) {
	n := int64(probeSize)
	if size < n {
		n = size
	}
	buf := make([]byte, probeSize)
	if n > 0 {
		if _, err := r.ReadAt(buf[:n], 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read superblocks: %w", err)
		}
	}
	sigs := []Signature{}
	for _, p := range []func([]byte) (Signature, bool){
		probeLUKS, probeLVM, probeMD, probeExt, probeXFS, probeBtrfs, probeSwap, probeVFAT, probeNTFS, probeISO9660,
	} {
		if s, ok := p(buf); ok {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		s, ok, err := probeLUKS2Secondary(r, size)
		if err != nil {
			return nil, err
		}
		if ok {
			sigs = append(sigs, s)
		}
	}
	if s, ok := probeGPT(buf); ok {
		sigs = append(sigs, s)
	} else if s, ok := probeMBR(buf, hasBootFS(sigs)); ok {
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// cstr returns b up to its first NUL, with trailing spaces removed.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " ")
}

// uuidBE formats 16 bytes as a UUID in byte order (ext, xfs, btrfs, swap).
func uuidBE(b []byte) string {
	if bytes.Equal(b, make([]byte, 16)) {
		return ""
	}
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// guidLE formats a GPT GUID, whose first three fields are little-endian.
func guidLE(b []byte) string {
	g := make([]byte, 16)
	copy(g, b[:16])
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	return uuidBE(g)
}

func probeLUKS(b []byte) (Signature, bool) {
	if !bytes.Equal(b[0:6], []byte("LUKS\xba\xbe")) {
		return Signature{}, false
	}
	switch binary.BigEndian.Uint16(b[6:8]) {
	case 1:
		return Signature{Type: "luks1", UUID: cstr(b[168:208])}, true
	case 2:
		return Signature{Type: "luks2", UUID: cstr(b[168:208]), Label: cstr(b[24:72])}, true
	}
	return Signature{}, false
}

func probeLUKS2Secondary(r io.ReaderAt, size int64) (Signature, bool, error) {
	hdr := make([]byte, 208)
	for _, off := range luks2SecondaryOffsets {
		if off+int64(len(hdr)) > size {
			break
		}
		if _, err := r.ReadAt(hdr, off); err != nil && !errors.Is(err, io.EOF) {
			return Signature{}, false, fmt.Errorf("read LUKS2 secondary header at %d: %w", off, err)
		}
		if bytes.Equal(hdr[0:6], []byte("SKUL\xba\xbe")) && binary.BigEndian.Uint16(hdr[6:8]) == 2 {
			return Signature{Type: "luks2", UUID: cstr(hdr[168:208]), Label: cstr(hdr[24:72])}, true, nil
		}
	}
	return Signature{}, false, nil
}

// probeLVM looks for an LVM2 label in one of the first four sectors.
func probeLVM(b []byte) (Signature, bool) {
	for sec := 0; sec < 4; sec++ {
		s := b[sec*512 : (sec+1)*512]
		if string(s[0:8]) != "LABELONE" || string(s[24:32]) != "LVM2 001" {
			continue
		}
		id := string(s[32:64])
		uuid := id
		if len(id) == 32 {
			uuid = id[0:6] + "-" + id[6:10] + "-" + id[10:14] + "-" + id[14:18] + "-" + id[18:22] + "-" + id[22:26] + "-" + id[26:32]
		}
		return Signature{Type: "lvm2", UUID: uuid}, true
	}
	return Signature{}, false
}

// probeMD finds md RAID superblocks of version 1.1 (at 0) and 1.2 (at 4 KiB).
func probeMD(b []byte) (Signature, bool) {
	for _, off := range []int{0, 4096} {
		s := b[off:]
		if binary.LittleEndian.Uint32(s[0:4]) == 0xa92b4efc && binary.LittleEndian.Uint32(s[4:8]) == 1 {
			return Signature{Type: "md", UUID: uuidBE(s[16:32]), Label: cstr(s[32:64])}, true
		}
	}
	return Signature{}, false
}

// ext feature flags that tell ext2, ext3 and ext4 apart, as blkid does.
const (
	extCompatHasJournal   = 0x4
	ext3IncompatSupported = 0x2 | 0x4 | 0x10 // filetype, recover, meta_bg
	ext3ROCompatSupported = 0x1 | 0x2 | 0x4  // sparse_super, large_file, btree_dir
	extIncompatJournalDev = 0x8
)

func probeExt(b []byte) (Signature, bool) {
	sb := b[1024:2048]
	if binary.LittleEndian.Uint16(sb[0x38:]) != 0xef53 {
		return Signature{}, false
	}
	compat := binary.LittleEndian.Uint32(sb[0x5c:])
	incompat := binary.LittleEndian.Uint32(sb[0x60:])
	rocompat := binary.LittleEndian.Uint32(sb[0x64:])
	if incompat&extIncompatJournalDev != 0 {
		return Signature{}, false // an external journal, not a filesystem
	}
	typ := "ext2"
	switch {
	case incompat&^ext3IncompatSupported != 0 || rocompat&^ext3ROCompatSupported != 0:
		typ = "ext4"
	case compat&extCompatHasJournal != 0:
		typ = "ext3"
	}
	return Signature{Type: typ, UUID: uuidBE(sb[0x68:0x78]), Label: cstr(sb[0x78:0x88])}, true
}

func probeXFS(b []byte) (Signature, bool) {
	if string(b[0:4]) != "XFSB" {
		return Signature{}, false
	}
	return Signature{Type: "xfs", UUID: uuidBE(b[32:48]), Label: cstr(b[108:120])}, true
}

func probeBtrfs(b []byte) (Signature, bool) {
	sb := b[64<<10:]
	if string(sb[64:72]) != "_BHRfS_M" {
		return Signature{}, false
	}
	return Signature{Type: "btrfs", UUID: uuidBE(sb[32:48]), Label: cstr(sb[0x12b : 0x12b+256])}, true
}

// probeSwap finds a Linux swap signature for page sizes 4 KiB to 64 KiB.
func probeSwap(b []byte) (Signature, bool) {
	for _, page := range []int{4096, 8192, 16384, 65536} {
		magic := string(b[page-10 : page])
		if magic != "SWAPSPACE2" && magic != "SWAP-SPACE" {
			continue
		}
		s := Signature{Type: "swap"}
		if magic == "SWAPSPACE2" {
			s.UUID, s.Label = uuidBE(b[1036:1052]), cstr(b[1052:1068])
		}
		return s, true
	}
	return Signature{}, false
}

// hasBootFS reports whether sigs hold a filesystem whose boot sector ends
// in the same 0x55AA mark as a DOS partition table.
func hasBootFS(sigs []Signature) bool {
	for _, s := range sigs {
		if s.Type == "vfat" || s.Type == "ntfs" {
			return true
		}
	}
	return false
}

func hasBootSignature(b []byte) bool { return b[510] == 0x55 && b[511] == 0xaa }

func probeVFAT(b []byte) (Signature, bool) {
	if !hasBootSignature(b) {
		return Signature{}, false
	}
	switch {
	case string(b[82:87]) == "FAT32":
		return Signature{Type: "vfat", UUID: fatSerial(b[67:71]), Label: cstr(b[71:82])}, true
	case string(b[54:59]) == "FAT12" || string(b[54:59]) == "FAT16":
		return Signature{Type: "vfat", UUID: fatSerial(b[39:43]), Label: cstr(b[43:54])}, true
	}
	return Signature{}, false
}

func fatSerial(b []byte) string {
	return fmt.Sprintf("%04X-%04X", binary.LittleEndian.Uint16(b[2:4]), binary.LittleEndian.Uint16(b[0:2]))
}

func probeNTFS(b []byte) (Signature, bool) {
	if string(b[3:11]) != "NTFS    " || !hasBootSignature(b) {
		return Signature{}, false
	}
	return Signature{Type: "ntfs", UUID: fmt.Sprintf("%016X", binary.LittleEndian.Uint64(b[72:80]))}, true
}

func probeISO9660(b []byte) (Signature, bool) {
	d := b[32768:]
	if d[0] != 1 || string(d[1:6]) != "CD001" {
		return Signature{}, false
	}
	return Signature{Type: "iso9660", Label: cstr(d[40:72])}, true
}

// probeGPT finds a GPT header at LBA 1 for 512- or 4096-byte sectors.
func probeGPT(b []byte) (Signature, bool) {
	for _, lba := range []int{512, 4096} {
		h := b[lba:]
		if string(h[0:8]) == "EFI PART" {
			return Signature{Type: "gpt", UUID: guidLE(h[56:72])}, true
		}
	}
	return Signature{}, false
}

// probeMBR finds a DOS partition table: the boot signature and four sane
// entries with at least one in use. The boot sector of a vfat or ntfs
// filesystem (bootFS) is not a partition table.
func probeMBR(b []byte, bootFS bool) (Signature, bool) {
	if bootFS || !hasBootSignature(b) {
		return Signature{}, false
	}
	used := false
	for i := 0; i < 4; i++ {
		e := b[446+16*i : 446+16*(i+1)]
		if e[0] != 0 && e[0] != 0x80 {
			return Signature{}, false
		}
		if e[4] != 0 {
			used = true
		}
	}
	if !used {
		return Signature{}, false
	}
	id := binary.LittleEndian.Uint32(b[440:444])
	s := Signature{Type: "mbr"}
	if id != 0 {
		s.UUID = fmt.Sprintf("%08x", id)
	}
	return s, true
}
