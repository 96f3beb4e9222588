package luks

import (
	"fmt"
	"slices"
	"strings"

	"simplecloud/luks/dm"
)

// CryptTarget returns the dm-crypt mapping that opens the data of h as
// cryptsetup open maps it: on the device at path, size bytes long, with the
// volume key vk (which the target shares, not copies). A LUKS1 volume maps
// everything after its payload offset in 512-byte sectors; a LUKS2 volume
// maps its one crypt segment, a dynamic one up to the end of the device,
// rounded down to the segment's sector size, with discards passed down when
// the header's persistent flags say allow-discards. Volumes with unknown
// mandatory requirements, integrity protection or more than one segment are
// refused, as is a device with no room for data after the header.
func (h *Header) CryptTarget(path string, size uint64, vk []byte) (dm.CryptTarget, error) {
	t := dm.CryptTarget{Key: vk, Device: path}
	var off, length uint64
	switch {
	case h.V1 != nil:
		t.Cipher, t.SectorSize, off = h.V1.Cipher(), 512, uint64(h.V1.PayloadOffset)*512
		length = size - min(size, off)
	case h.Meta != nil:
		if err := h.CanActivate(); err != nil {
			return dm.CryptTarget{}, fmt.Errorf("map %s: %w", path, err)
		}
		seg := h.Meta.Segments[0]
		if seg == nil || seg.Type != "crypt" || len(h.Meta.Segments) != 1 || len(seg.Integrity) > 0 {
			return dm.CryptTarget{}, fmt.Errorf("map %s: %w: only volumes with one plain crypt segment can be opened", path, ErrUnsupported)
		}
		t.Cipher, t.SectorSize, t.IVOffset, off = seg.Encryption, seg.SectorSize, seg.IVTweak, seg.Offset
		length = seg.Size
		if seg.Dynamic {
			length = size - min(size, off)
		}
		length -= length % uint64(max(seg.SectorSize, 512))
		t.AllowDiscards = slices.Contains(h.Meta.Config.Flags, "allow-discards")
	default:
		return dm.CryptTarget{}, fmt.Errorf("map %s: %w: header of neither LUKS1 nor LUKS2", path, ErrInvalidHeader)
	}
	if length < 512 {
		return dm.CryptTarget{}, fmt.Errorf("map %s: no room for data after the header (device of %d bytes, data at %d)", path, size, off)
	}
	t.Offset, t.Length = off/512, length/512
	return t, nil
}

// DMUUID returns the device-mapper UUID cryptsetup gives the LUKS volume of
// the given version (1 or 2) and UUID opened as name,
// CRYPT-LUKS2-<uuid without dashes>-<name>, so that cryptsetup status and
// close know the mapping as theirs.
func DMUUID(version int, uuid, name string) string {
	return fmt.Sprintf("CRYPT-LUKS%d-%s-%s", version, strings.ReplaceAll(uuid, "-", ""), name)
}
