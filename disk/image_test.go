package disk

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"
)

// Builders of superblocks as the real tools lay them out, for images that
// stand in for device contents. Each returns the bytes from the start of
// the device or partition; only the fields Probe (and blkid) look at are
// filled in.

// piece is bytes to put at an offset of an image.
type piece struct {
	off  int64
	data []byte
}

// writeImage writes a sparse image file of at least size bytes.
func writeImage(t *testing.T, path string, size int64, pieces ...piece) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range pieces {
		if _, err := f.WriteAt(p.data, p.off); err != nil {
			t.Fatal(err)
		}
		size = max(size, p.off+int64(len(p.data)))
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func uuidBytes(s string) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		var v byte
		for _, c := range s[i : i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b = append(b, v)
		i++
	}
	return b
}

func ext4Image(uuid, label string) []byte {
	b := make([]byte, 2048)
	sb := b[1024:]
	binary.LittleEndian.PutUint32(sb[0x00:], 65536)  // inodes
	binary.LittleEndian.PutUint32(sb[0x04:], 262144) // blocks
	binary.LittleEndian.PutUint32(sb[0x18:], 2)      // log block size: 4 KiB
	binary.LittleEndian.PutUint32(sb[0x20:], 32768)  // blocks per group
	binary.LittleEndian.PutUint16(sb[0x38:], 0xef53)
	binary.LittleEndian.PutUint32(sb[0x4c:], 1)    // rev level
	binary.LittleEndian.PutUint32(sb[0x5c:], 0x3c) // has_journal, ext_attr, resize_inode, dir_index
	binary.LittleEndian.PutUint32(sb[0x60:], 0x2c2)
	binary.LittleEndian.PutUint32(sb[0x64:], 0x7b)
	copy(sb[0x68:], uuidBytes(uuid))
	copy(sb[0x78:], label)
	return b
}

func vfatImage(serial uint32, label string) []byte {
	b := make([]byte, 512)
	copy(b[0:], []byte{0xeb, 0x58, 0x90})
	copy(b[3:], "mkfs.fat")
	binary.LittleEndian.PutUint16(b[11:], 512) // bytes per sector
	b[13] = 8                                  // sectors per cluster
	binary.LittleEndian.PutUint16(b[14:], 32)  // reserved sectors
	b[16] = 2                                  // FATs
	b[21] = 0xf8
	binary.LittleEndian.PutUint32(b[32:], 1048576) // total sectors
	binary.LittleEndian.PutUint32(b[36:], 1024)    // sectors per FAT
	binary.LittleEndian.PutUint32(b[44:], 2)       // root cluster
	b[66] = 0x29
	binary.LittleEndian.PutUint32(b[67:], serial)
	copy(b[71:82], label+"           ")
	copy(b[82:], "FAT32   ")
	b[510], b[511] = 0x55, 0xaa
	return b
}

// mbrImage is a DOS partition table with one partition of the given type.
func mbrImage(id uint32, typ byte, startLBA, sectors uint32) []byte {
	b := make([]byte, 512)
	binary.LittleEndian.PutUint32(b[440:], id)
	e := b[446:]
	e[4] = typ
	binary.LittleEndian.PutUint32(e[8:], startLBA)
	binary.LittleEndian.PutUint32(e[12:], sectors)
	b[510], b[511] = 0x55, 0xaa
	return b
}

// gptImage is a protective MBR and a GPT header (with valid CRCs and an
// empty entry array) for a disk of the given number of sectors.
func gptImage(guid string, sectors uint64) []byte {
	b := make([]byte, 2*512+128*128)
	copy(b, mbrImage(0, 0xee, 1, uint32(min(sectors-1, 0xffffffff))))
	h := b[512:]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[24:], 1)
	binary.LittleEndian.PutUint64(h[32:], sectors-1)
	binary.LittleEndian.PutUint64(h[40:], 34)
	binary.LittleEndian.PutUint64(h[48:], sectors-34)
	g := uuidBytes(guid)
	g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7] = g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]
	copy(h[56:], g)
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 128)
	binary.LittleEndian.PutUint32(h[84:], 128)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(b[1024:]))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	return b
}

func luksImage(version uint16, uuid, label string) []byte {
	b := make([]byte, 4096)
	copy(b, "LUKS\xba\xbe")
	binary.BigEndian.PutUint16(b[6:], version)
	copy(b[168:], uuid)
	if version == 2 {
		binary.BigEndian.PutUint64(b[8:], 16384) // header size
		copy(b[24:], label)
		copy(b[72:], "sha256")
	} else {
		copy(b[8:], "aes")
		copy(b[40:], "xts-plain64")
		copy(b[72:], "sha256")
	}
	return b
}

func swapImage(uuid, label string) []byte {
	b := make([]byte, 4096)
	binary.LittleEndian.PutUint32(b[1024:], 1)     // version
	binary.LittleEndian.PutUint32(b[1028:], 65535) // last page
	copy(b[1036:], uuidBytes(uuid))
	copy(b[1052:], label)
	copy(b[4086:], "SWAPSPACE2")
	return b
}

func lvmImage(pvUUID string) []byte {
	b := make([]byte, 1024)
	l := b[512:]
	copy(l, "LABELONE")
	binary.LittleEndian.PutUint64(l[8:], 1)
	binary.LittleEndian.PutUint32(l[20:], 32)
	copy(l[24:], "LVM2 001")
	copy(l[32:], pvUUID)
	return b
}

func xfsImage(uuid, label string) []byte {
	b := make([]byte, 512)
	copy(b, "XFSB")
	binary.BigEndian.PutUint32(b[4:], 4096)
	copy(b[32:], uuidBytes(uuid))
	copy(b[108:], label)
	return b
}

func btrfsImage(uuid, label string) []byte {
	b := make([]byte, 64<<10+4096)
	sb := b[64<<10:]
	copy(sb[32:], uuidBytes(uuid))
	binary.LittleEndian.PutUint64(sb[48:], 64<<10)
	copy(sb[64:], "_BHRfS_M")
	copy(sb[0x12b:], label)
	return b
}

func mdImage(uuid, name string) []byte {
	b := make([]byte, 8192)
	sb := b[4096:]
	binary.LittleEndian.PutUint32(sb[0:], 0xa92b4efc)
	binary.LittleEndian.PutUint32(sb[4:], 1)
	copy(sb[16:], uuidBytes(uuid))
	copy(sb[32:], name)
	return b
}

func ntfsImage(serial uint64) []byte {
	b := make([]byte, 512)
	copy(b[3:], "NTFS    ")
	binary.LittleEndian.PutUint64(b[72:], serial)
	b[510], b[511] = 0x55, 0xaa
	return b
}

func isoImage(label string) []byte {
	b := make([]byte, 32768+2048)
	d := b[32768:]
	d[0] = 1
	copy(d[1:], "CD001")
	d[6] = 1
	copy(d[40:72], label+"                                ")
	return b
}
