package luks

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
)

// KeyslotOptions describes a keyslot to add.
type KeyslotOptions struct {
	Slot     int   // keyslot number, or AnySlot for the lowest free one
	PBKDF    PBKDF // key derivation; zero value: cryptsetup's defaults
	Priority *int  // nil: absent (normal)
}

// FreeSlot returns the lowest keyslot number not in use, or -1.
func (m *Metadata) FreeSlot() int {
	for i := range MaxKeyslots {
		if m.Keyslots[i] == nil {
			return i
		}
	}
	return -1
}

func (h *Header) checkWritable() error {
	if h.V1 != nil {
		return ErrLUKS1ReadOnly
	}
	if req := h.unknownRequirements(); len(req) > 0 {
		return fmt.Errorf("%w %v: the header is read-only here", ErrRequirements, req)
	}
	return nil
}

// unknownRequirements returns the mandatory requirements this package does
// not implement (all of them: it implements none of the extensions).
func (h *Header) unknownRequirements() []string {
	if h.Meta == nil {
		return nil
	}
	return h.Meta.Config.Mandatory()
}

// CanActivate reports whether a dm-crypt mapping may be made from the header.
func (h *Header) CanActivate() error {
	if req := h.unknownRequirements(); len(req) > 0 {
		return fmt.Errorf("%w %v: refusing to activate", ErrRequirements, req)
	}
	return nil
}

// allocArea finds the lowest 4096-aligned gap of size bytes in the keyslots
// area, ignoring the area of keyslot skip (-1 for none).
func (h *Header) allocArea(size uint64, skip int) (uint64, error) {
	start := 2 * h.HdrSize
	end := start + h.Meta.Config.KeyslotsSize
	type span struct{ off, end uint64 }
	var used []span
	for id, k := range h.Meta.Keyslots {
		if id != skip {
			used = append(used, span{k.Area.Offset, k.Area.Offset + k.Area.Size})
		}
	}
	sort.Slice(used, func(i, j int) bool { return used[i].off < used[j].off })
	off := start
	for _, u := range used {
		if off+size <= u.off {
			break
		}
		if u.end > off {
			off = (u.end + 4095) &^ 4095
		}
	}
	if off+size > end {
		return 0, fmt.Errorf("%w: no room for %d more bytes in the keyslots area", ErrNoSlot, size)
	}
	return off, nil
}

// newKeyslot derives a keyslot for key under pass and writes its key
// material to a free area. It does not touch the metadata.
func (h *Header) newKeyslot(dev io.WriterAt, key, pass []byte, p PBKDF) (*Keyslot, error) {
	spec := h.Cipher()
	areaKey := len(key)
	if _, err := newSectorCipher(spec, key); err != nil {
		// A data cipher we cannot run is no reason to fail: keyslots have
		// their own encryption.
		spec, areaKey = DefaultCipher, 64
	}
	kdf, err := p.Resolve(areaKey)
	if err != nil {
		return nil, err
	}
	size := afSplitAreaSize(len(key), DefaultStripes)
	off, err := h.allocArea(size, -1)
	if err != nil {
		return nil, err
	}
	k := &Keyslot{
		Type:    "luks2",
		KeySize: len(key),
		AF:      AF{Type: "luks1", Stripes: DefaultStripes, Hash: DefaultAFHash},
		Area:    Area{Type: "raw", Offset: off, Size: size, Encryption: spec, KeySize: areaKey},
		KDF:     kdf,
	}
	dk, err := deriveKey(&k.KDF, pass, areaKey)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	if err := encryptKeyMaterial(dev, spec, dk, int64(off), key, DefaultStripes, DefaultAFHash); err != nil {
		return nil, err
	}
	return k, nil
}

// AddKeyslot stores the volume key vk in a new keyslot opened by pass and
// writes the header. It returns the keyslot number.
func (h *Header) AddKeyslot(dev ReadWriterAt, vk, pass []byte, opts KeyslotOptions) (int, error) {
	if err := h.checkWritable(); err != nil {
		return -1, err
	}
	if ok, err := h.VerifyVolumeKey(vk); err != nil {
		return -1, err
	} else if !ok {
		return -1, errors.New("the key does not match the volume key digest")
	}
	slot := opts.Slot
	if slot == AnySlot {
		if slot = h.Meta.FreeSlot(); slot < 0 {
			return -1, fmt.Errorf("%w: all %d keyslots are in use", ErrNoSlot, MaxKeyslots)
		}
	} else if slot < 0 || slot >= MaxKeyslots {
		return -1, fmt.Errorf("%w: keyslot %d is out of range 0-%d", ErrNoSlot, slot, MaxKeyslots-1)
	} else if h.Meta.Keyslots[slot] != nil {
		return -1, fmt.Errorf("%w: keyslot %d is in use", ErrNoSlot, slot)
	}
	k, err := h.newKeyslot(dev, vk, pass, opts.PBKDF)
	if err != nil {
		return -1, err
	}
	k.Priority = opts.Priority
	h.Meta.Keyslots[slot] = k
	d := h.Meta.Digests[h.Meta.volumeDigest()]
	d.Keyslots = append(d.Keyslots, slot)
	slices.Sort(d.Keyslots)
	if err := h.write(dev); err != nil {
		delete(h.Meta.Keyslots, slot)
		d.Keyslots = slices.DeleteFunc(d.Keyslots, func(s int) bool { return s == slot })
		_ = wipeRange(dev, k.Area.Offset, k.Area.Size)
		return -1, err
	}
	return slot, nil
}

// KillSlot wipes the key material of a keyslot and removes it from the
// metadata (and from the digests and tokens that name it).
func (h *Header) KillSlot(dev ReadWriterAt, slot int) error {
	c, err := h.PlanKillSlot(slot)
	if err != nil {
		return err
	}
	if err := wipeRange(dev, c.Writes[0].Offset, c.Writes[0].Size); err != nil {
		return fmt.Errorf("wipe keyslot %d area: %w", slot, err)
	}
	h.removeSlot(slot)
	return h.write(dev)
}

func (h *Header) removeSlot(slot int) {
	delete(h.Meta.Keyslots, slot)
	drop := func(s int) bool { return s == slot }
	for _, d := range h.Meta.Digests {
		d.Keyslots = slices.DeleteFunc(d.Keyslots, drop)
	}
	for _, t := range h.Meta.Tokens {
		t.Keyslots = slices.DeleteFunc(t.Keyslots, drop)
	}
}

// ChangeKey replaces the passphrase of keyslot slot (opened by oldPass) by
// newPass, keeping the slot number and priority. The new key material goes
// to a fresh area before the old one is wiped.
func (h *Header) ChangeKey(dev ReadWriterAt, slot int, oldPass, newPass []byte, p PBKDF) error {
	if slot != AnySlot {
		if _, err := h.PlanChangeKey(slot); err != nil {
			return err
		}
	} else if err := h.checkWritable(); err != nil {
		return err
	}
	vk, _, err := h.Unlock(dev, oldPass, slot)
	if err != nil {
		return err
	}
	defer clear(vk)
	old := h.Meta.Keyslots[slot]
	k, err := h.newKeyslot(dev, vk, newPass, p)
	if err != nil {
		return err
	}
	k.Priority = old.Priority
	k.Extra = old.Extra
	h.Meta.Keyslots[slot] = k
	if err := h.write(dev); err != nil {
		h.Meta.Keyslots[slot] = old
		return err
	}
	return wipeRange(dev, old.Area.Offset, old.Area.Size)
}

// Erase wipes every keyslot; the volume can no longer be opened by a
// passphrase (only with a saved volume key or header backup).
func (h *Header) Erase(dev ReadWriterAt) error {
	c, err := h.PlanErase()
	if err != nil {
		return err
	}
	for i, id := range c.Slots {
		if err := wipeRange(dev, c.Writes[i].Offset, c.Writes[i].Size); err != nil {
			return fmt.Errorf("wipe keyslot %d area: %w", id, err)
		}
		h.removeSlot(id)
	}
	return h.write(dev)
}

// wipeRange overwrites [off, off+size) with random data.
func wipeRange(w io.WriterAt, off, size uint64) error {
	buf := make([]byte, min(size, 1<<20))
	for done := uint64(0); done < size; {
		n := min(uint64(len(buf)), size-done)
		if _, err := rand.Read(buf[:n]); err != nil {
			return err
		}
		if _, err := w.WriteAt(buf[:n], int64(off+done)); err != nil {
			return err
		}
		done += n
	}
	return nil
}
