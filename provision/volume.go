package provision

import (
	"errors"
	"fmt"
	"strings"

	"simplecloud/luks"
	"simplecloud/luks/dm"
)

// CryptUUID returns the device-mapper UUID cryptsetup gives the volume with
// LUKS UUID uuid opened as name, so that cryptsetup status and close know it
// as theirs: CRYPT-LUKS2-<uuid without dashes>-<name>.
func CryptUUID(version int, uuid, name string) string {
	return fmt.Sprintf("CRYPT-LUKS%d-%s-%s", version, strings.ReplaceAll(uuid, "-", ""), name)
}

// CryptTarget returns the dm-crypt mapping of segment 0 of h on the device
// at path of size bytes, with volume key vk.
func CryptTarget(h *luks.Header, path string, size uint64, vk []byte, discard bool) (dm.CryptTarget, error) {
	if err := h.CanActivate(); err != nil {
		return dm.CryptTarget{}, fmt.Errorf("activate %s: %w", path, err)
	}
	if h.Meta == nil {
		return dm.CryptTarget{}, fmt.Errorf("activate %s: LUKS%d: %w", path, h.Version, luks.ErrUnsupported)
	}
	seg, ok := h.Meta.Segments[0]
	if !ok || seg.Type != "crypt" {
		return dm.CryptTarget{}, fmt.Errorf("activate %s: no crypt segment 0", path)
	}
	length := seg.Size
	if seg.Dynamic {
		if size <= seg.Offset {
			return dm.CryptTarget{}, fmt.Errorf("activate %s: device of %d bytes ends before the data offset %d", path, size, seg.Offset)
		}
		length = size - seg.Offset
	}
	return dm.CryptTarget{
		Cipher:        seg.Encryption,
		Key:           vk,
		IVOffset:      seg.IVTweak,
		Offset:        seg.Offset / 512,
		Length:        length / 512,
		Device:        path,
		SectorSize:    seg.SectorSize,
		AllowDiscards: discard,
	}, nil
}

// activate maps the volume as name, refusing when name exists already.
func activate(m Mapper, name string, h *luks.Header, path string, size uint64, vk []byte, discard bool) error {
	info, err := m.Info(name)
	if err != nil {
		return fmt.Errorf("open %s as %s: %w", path, name, err)
	}
	if info.Exists {
		return fmt.Errorf("open %s as %s: %w (device-mapper uuid %s)", path, name, ErrAlreadyOpen, info.UUID)
	}
	t, err := CryptTarget(h, path, size, vk, discard)
	if err != nil {
		return err
	}
	if err := m.CreateCrypt(name, CryptUUID(h.Version, h.UUID, name), t); err != nil {
		if errors.Is(err, dm.ErrExists) {
			err = fmt.Errorf("%w: %w", ErrAlreadyOpen, err)
		}
		return fmt.Errorf("open %s as %s: %w", path, name, err)
	}
	return nil
}
