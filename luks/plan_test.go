package luks

import (
	"bytes"
	"errors"
	"testing"
)

// changedOutside returns the first byte offset where after differs from
// before outside every planned write, or -1.
func changedOutside(before, after []byte, ws []Write) int {
	for i := range before {
		if before[i] == after[i] {
			continue
		}
		in := false
		for _, w := range ws {
			if uint64(i) >= w.Offset && uint64(i) < w.End() {
				in = true
			}
		}
		if !in {
			return i
		}
	}
	return -1
}

// TestPlansCoverWrites runs each operation after its plan: every byte the
// operation changes lies in a range the plan names, and the plan names the
// keyslots the operation touches.
func TestPlansCoverWrites(t *testing.T) {
	ops := []struct {
		name  string
		slots []int
		plan  func(h *Header) (Change, error)
		do    func(dev *memDev, h *Header) error
	}{
		{"kill-slot", []int{1}, func(h *Header) (Change, error) { return h.PlanKillSlot(1) },
			func(dev *memDev, h *Header) error { return h.KillSlot(dev, 1) }},
		{"erase", []int{0, 1}, func(h *Header) (Change, error) { return h.PlanErase() },
			func(dev *memDev, h *Header) error { return h.Erase(dev) }},
		{"change-key", []int{1}, func(h *Header) (Change, error) { return h.PlanChangeKey(1) },
			func(dev *memDev, h *Header) error {
				return h.ChangeKey(dev, 1, []byte("two"), []byte("three"), fastPBKDF2)
			}},
	}
	for _, op := range ops {
		dev, h, vk := newTestVolume(t, "one")
		if _, err := h.AddKeyslot(dev, vk, []byte("two"), KeyslotOptions{Slot: 1, PBKDF: fastPBKDF2}); err != nil {
			t.Fatal(err)
		}
		before := bytes.Clone(dev.b)
		c, err := op.plan(h)
		if err != nil {
			t.Fatalf("%s: plan: %v", op.name, err)
		}
		if !bytes.Equal(dev.b, before) {
			t.Fatalf("%s: planning wrote to the device", op.name)
		}
		if err := op.do(dev, h); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if at := changedOutside(before, dev.b, c.Writes); at >= 0 {
			t.Errorf("%s: byte %d changed outside the planned writes %+v", op.name, at, c.Writes)
		}
		if len(c.Slots) != len(op.slots) || c.Slots[0] != op.slots[0] {
			t.Errorf("%s: got keyslots %v, want %v", op.name, c.Slots, op.slots)
		}
	}
}

func TestPlanFormatAndRestore(t *testing.T) {
	geo := Geometry{Size: 4 << 20, LogicalSectorSize: 512, PhysicalSectorSize: 512}
	opts := FormatOptions{PBKDF: fastPBKDF2, DigestIterations: 1000, DataOffset: 2 << 20, Device: geo}
	c, resolved, err := PlanFormat(opts)
	if err != nil {
		t.Fatal(err)
	}
	if resolved.UUID != "" || resolved.SectorSize != 512 || resolved.Cipher != DefaultCipher {
		t.Errorf("got resolved options %+v, want no UUID yet, 512-byte sectors, %s", resolved, DefaultCipher)
	}
	dev := &memDev{b: bytes.Repeat([]byte{0xee}, 4<<20)}
	before := bytes.Clone(dev.b)
	h, _, err := Format(dev, opts, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if at := changedOutside(before, dev.b, c.Writes); at >= 0 {
		t.Errorf("format: byte %d changed outside the planned writes %+v", at, c.Writes)
	}
	if k := h.Meta.Keyslots[0]; c.Writes[1].Offset != k.Area.Offset || c.Writes[1].Size != k.Area.Size {
		t.Errorf("format: planned keyslot 0 at %+v, got area %+v", c.Writes[1], k.Area)
	}
	if _, _, err := PlanFormat(FormatOptions{Device: Geometry{Size: 1 << 20}}); err == nil {
		t.Error("format plan for a device smaller than the data offset: got no error")
	}

	backup := bytes.Clone(dev.b[:h.BackupSize()])
	r, err := PlanRestore(backup, 4<<20)
	if err != nil || len(r.Writes) != 1 || r.Writes[0].Size != h.BackupSize() {
		t.Errorf("restore plan: got %+v, %v; want one write of %d bytes", r, err, h.BackupSize())
	}
	if _, err := PlanRestore(backup, h.BackupSize()); err == nil {
		t.Error("restore plan onto a device no larger than the header: got no error")
	}
	if _, err := h.PlanKillSlot(5); !errors.Is(err, ErrNoSlot) {
		t.Errorf("kill-slot plan for a free slot: got %v, want ErrNoSlot", err)
	}
	if c, err := h.PlanRepair(); err != nil || len(c.Writes) != 0 {
		t.Errorf("repair plan of an intact header: got %+v, %v; want no writes", c, err)
	}
}
