package provision

import (
	"errors"
	"fmt"

	"simplecloud/luks"
	"simplecloud/luks/dm"
)

// activate maps the volume as name, refusing when name exists already. The
// mapping is the one luks open makes (luks.Header.CryptTarget), with
// discards passed down when discard is set or the header asks for them.
func activate(m Mapper, name string, h *luks.Header, path string, size uint64, vk []byte, discard bool) error {
	info, err := m.Info(name)
	if err != nil {
		return fmt.Errorf("open %s as %s: %w", path, name, err)
	}
	if info.Exists {
		return fmt.Errorf("open %s as %s: %w (device-mapper uuid %s)", path, name, ErrAlreadyOpen, info.UUID)
	}
	t, err := h.CryptTarget(path, size, vk)
	if err != nil {
		return fmt.Errorf("open %s as %s: %w", path, name, err)
	}
	t.AllowDiscards = t.AllowDiscards || discard
	if err := m.CreateCrypt(name, luks.DMUUID(h.Version, h.UUID, name), t); err != nil {
		if errors.Is(err, dm.ErrExists) {
			err = fmt.Errorf("%w: %w", ErrAlreadyOpen, err)
		}
		return fmt.Errorf("open %s as %s: %w", path, name, err)
	}
	return nil
}

// ownMapping reports whether the device-mapper UUID dmUUID is the one
// cryptsetup (and activate) gives the LUKS1 or LUKS2 volume uuid opened as
// name.
func ownMapping(dmUUID, uuid, name string) bool {
	return dmUUID == luks.DMUUID(2, uuid, name) || dmUUID == luks.DMUUID(1, uuid, name)
}
