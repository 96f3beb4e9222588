package luks

import (
	"fmt"
	"strings"
)

// Write is one byte range a header operation writes, with what goes there.
type Write struct {
	Offset uint64 `json:"offset"`
	Size   uint64 `json:"size"`
	What   string `json:"what"`
}

// End returns the first byte after the range.
func (w Write) End() uint64 { return w.Offset + w.Size }

// Change is what a header operation would do, worked out without writing:
// the Plan* methods run every check the operation runs and list the byte
// ranges it writes, in order. A dry run prints it; the operation itself
// starts from the same plan.
type Change struct {
	Op      string   `json:"op"`
	Summary string   `json:"summary"`
	Slots   []int    `json:"keyslots,omitempty"` // keyslots removed, replaced or created
	Writes  []Write  `json:"writes"`
	Notes   []string `json:"notes,omitempty"`
}

// copyWrites are the two LUKS2 header copies as a header write rewrites
// them, with the seqid it gives them.
func (h *Header) copyWrites() []Write {
	return []Write{
		{0, h.HdrSize, fmt.Sprintf("primary header copy: binary header and JSON metadata (seqid %d)", h.SeqID+1)},
		{h.HdrSize, h.HdrSize, fmt.Sprintf("secondary header copy: binary header and JSON metadata (seqid %d)", h.SeqID+1)},
	}
}

// slotWrite is the random overwrite of keyslot id's key material.
func slotWrite(id int, k *Keyslot) Write {
	return Write{k.Area.Offset, k.Area.Size, fmt.Sprintf("keyslot %d key material: overwritten with random bytes", id)}
}

// PlanKillSlot checks that keyslot slot can be removed and returns what
// KillSlot would write.
func (h *Header) PlanKillSlot(slot int) (Change, error) {
	if err := h.checkWritable(); err != nil {
		return Change{}, err
	}
	k := h.Meta.Keyslots[slot]
	if k == nil {
		return Change{}, fmt.Errorf("%w: keyslot %d is not in use", ErrNoSlot, slot)
	}
	c := Change{Op: "kill-slot", Summary: fmt.Sprintf("remove keyslot %d", slot), Slots: []int{slot},
		Writes: append([]Write{slotWrite(slot, k)}, h.copyWrites()...)}
	if len(h.Meta.Keyslots) == 1 {
		c.Notes = append(c.Notes, "this is the last keyslot: no passphrase will open the volume afterwards")
	}
	return c, nil
}

// PlanErase checks that the header can be changed and returns what Erase
// would write.
func (h *Header) PlanErase() (Change, error) {
	if err := h.checkWritable(); err != nil {
		return Change{}, err
	}
	c := Change{Op: "erase", Summary: "remove every keyslot; no passphrase will open the volume afterwards", Slots: []int{}}
	for _, id := range sortedIDs(h.Meta.Keyslots) {
		c.Slots = append(c.Slots, id)
		c.Writes = append(c.Writes, slotWrite(id, h.Meta.Keyslots[id]))
	}
	c.Writes = append(c.Writes, h.copyWrites()...)
	return c, nil
}

// PlanChangeKey checks that keyslot slot can take a new passphrase and
// returns what ChangeKey would write: the new key material to a free area,
// the header, then the old area overwritten.
func (h *Header) PlanChangeKey(slot int) (Change, error) {
	if err := h.checkWritable(); err != nil {
		return Change{}, err
	}
	old := h.Meta.Keyslots[slot]
	if old == nil {
		return Change{}, fmt.Errorf("%w: keyslot %d is not in use", ErrNoSlot, slot)
	}
	size := afSplitAreaSize(old.KeySize, DefaultStripes)
	off, err := h.allocArea(size, -1)
	if err != nil {
		return Change{}, err
	}
	w := []Write{{off, size, fmt.Sprintf("keyslot %d new key material, encrypted under the new passphrase", slot)}}
	w = append(w, h.copyWrites()...)
	w = append(w, Write{old.Area.Offset, old.Area.Size, fmt.Sprintf("keyslot %d old key material: overwritten with random bytes", slot)})
	return Change{Op: "change-key", Summary: fmt.Sprintf("replace the passphrase of keyslot %d", slot), Slots: []int{slot}, Writes: w}, nil
}

// PlanRepair returns what Repair would write: both header copies, from the
// good one. A header that needs no repair gives a Change without writes.
func (h *Header) PlanRepair() (Change, error) {
	if h.V1 != nil {
		return Change{}, ErrLUKS1ReadOnly
	}
	c := Change{Op: "repair", Summary: "nothing to repair: both header copies are intact"}
	if !h.NeedsRepair() {
		return c, nil
	}
	var bad []string
	for _, e := range []error{h.PrimaryErr, h.SecondaryErr} {
		if e != nil {
			bad = append(bad, e.Error())
		}
	}
	c.Summary = "rewrite both header copies from the good one (" + strings.Join(bad, "; ") + ")"
	c.Writes = h.copyWrites()
	return c, nil
}

// PlanFormat checks opts (filling in cryptsetup's defaults; a UUID left
// empty stays empty) and returns what Format would write.
func PlanFormat(opts FormatOptions) (Change, FormatOptions, error) {
	random := opts.UUID == ""
	if err := opts.resolve(); err != nil {
		return Change{}, opts, err
	}
	if random {
		opts.UUID = ""
	}
	md, ks := opts.MetadataSize, opts.KeyslotsSize
	areaEnd := 2*md + ks
	h := &Header{HdrSize: md}
	uuid := opts.UUID
	if uuid == "" {
		uuid = "random"
	}
	c := Change{
		Op: "format",
		Summary: fmt.Sprintf("write a new LUKS2 header: %s, %d-bit key, %d-byte sectors, data from byte %d, UUID %s",
			opts.Cipher, opts.KeyBits, opts.SectorSize, opts.DataOffset, uuid),
		Slots: []int{0},
		Writes: []Write{
			{0, areaEnd, "header and keyslots area: zeroed"},
			{2 * md, afSplitAreaSize(opts.KeyBits/8, DefaultStripes), "keyslot 0 key material, encrypted under the passphrase (" + opts.PBKDF.describe() + ")"},
		},
		Notes: []string{fmt.Sprintf("the data area from byte %d is not written, but what it holds can no longer be read", opts.DataOffset)},
	}
	c.Writes = append(c.Writes, h.copyWrites()...)
	return c, opts, nil
}

// describe says in words how a keyslot's passphrase would be hashed.
func (p PBKDF) describe() string {
	p = p.withDefaults()
	if p.Type == "pbkdf2" {
		if p.ForceIterations > 0 {
			return fmt.Sprintf("pbkdf2-%s, %d iterations", p.Hash, p.ForceIterations)
		}
		return fmt.Sprintf("pbkdf2-%s, benchmarked to %s", p.Hash, p.IterTime)
	}
	if p.ForceIterations > 0 {
		return fmt.Sprintf("%s, %d iterations, up to %d KiB, %d threads", p.Type, p.ForceIterations, p.MaxMemoryKiB, p.Parallel)
	}
	return fmt.Sprintf("%s benchmarked to %s, up to %d KiB, %d threads", p.Type, p.IterTime, p.MaxMemoryKiB, p.Parallel)
}

// PlanRestore checks a header backup against a device of devSize bytes
// (0: unknown) and returns what Restore would write.
func PlanRestore(backup []byte, devSize uint64) (Change, error) {
	h, err := ReadBackup(backup)
	if err != nil {
		return Change{}, err
	}
	n := h.BackupSize()
	if devSize != 0 && devSize <= n {
		return Change{}, fmt.Errorf("device of %d bytes is too small for a %d-byte header", devSize, n)
	}
	what := fmt.Sprintf("LUKS%d header", h.Version)
	if h.V1 == nil {
		what += " copies and keyslots area"
	}
	return Change{
		Op:      "header-restore",
		Summary: fmt.Sprintf("replace the header by the backup's (LUKS%d, UUID %s)", h.Version, h.UUID),
		Writes:  []Write{{0, n, what + " from the backup"}},
	}, nil
}
