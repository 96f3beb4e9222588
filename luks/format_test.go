package luks

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestOracleOurFormat: every header we format passes cryptsetup luksDump and
// open --test-passphrase, and cryptsetup dumps the same volume key.
func TestOracleOurFormat(t *testing.T) {
	o := newOracle(t)
	pass := "our passphrase"
	kf := o.keyFile(pass)
	cases := []struct {
		name string
		opts FormatOptions
		size int64
		want string // a line luksDump must show
	}{
		{"defaults-pbkdf2", FormatOptions{PBKDF: fastPBKDF2}, 20 << 20, "sector: 4096"},
		{"argon2id", FormatOptions{PBKDF: fastArgon}, 20 << 20, "PBKDF:      argon2id"},
		{"argon2i", FormatOptions{PBKDF: PBKDF{Type: "argon2i", ForceIterations: 4, MaxMemoryKiB: 32768, Parallel: 2}}, 20 << 20, "Threads:    2"},
		{"sector512-odd-size", FormatOptions{PBKDF: fastPBKDF2}, 20<<20 + 512, "sector: 512"},
		{"sector512", FormatOptions{PBKDF: fastPBKDF2, SectorSize: 512}, 20 << 20, "sector: 512"},
		{"label", FormatOptions{PBKDF: fastPBKDF2, Label: "data", Subsystem: "simplecloud", UUID: "0f9d2c5e-31b5-4c5a-9d51-1a2b3c4d5e6f"}, 20 << 20, "Label:         \tdata"},
		{"aes-128-xts", FormatOptions{PBKDF: fastPBKDF2, KeyBits: 256}, 20 << 20, "Key:        256 bits"},
		{"cbc-essiv", FormatOptions{PBKDF: fastPBKDF2, KeyBits: 256, Cipher: "aes-cbc-essiv:sha256"}, 20 << 20, "cipher: aes-cbc-essiv:sha256"},
		{"pbkdf2-sha512", FormatOptions{PBKDF: PBKDF{Type: "pbkdf2", Hash: "sha512", ForceIterations: 1000}}, 20 << 20, "Hash:       sha512"},
		{"metadata-64k", FormatOptions{PBKDF: fastPBKDF2, MetadataSize: 65536, DataOffset: 2 << 20}, 20 << 20, "Metadata area: \t65536 [bytes]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o.t = t
			img := o.image(c.name+".img", c.size)
			f := openRW(t, img)
			c.opts.Device = Geometry{Size: uint64(c.size), LogicalSectorSize: 512, PhysicalSectorSize: 4096}
			c.opts.DigestIterations = 1000
			h, vk, err := Format(f, c.opts, []byte(pass))
			if err != nil {
				t.Fatal(err)
			}
			dump := o.must("luksDump", img)
			if !strings.Contains(dump, c.want) {
				t.Errorf("luksDump lacks %q:\n%s", c.want, dump)
			}
			if !o.testOpen(img, kf, -1) {
				t.Fatal("cryptsetup refuses the passphrase")
			}
			if got := o.volumeKey(img, kf); !bytes.Equal(got, vk) {
				t.Fatalf("cryptsetup volume key %x, ours %x", got, vk)
			}
			if h.UUID == "" || !strings.Contains(dump, h.UUID) {
				t.Errorf("luksDump does not show UUID %q", h.UUID)
			}
			// And we read back what we wrote.
			h2 := readHeader(t, f)
			if h2.NeedsRepair() {
				t.Fatalf("fresh header needs repair: %v %v", h2.PrimaryErr, h2.SecondaryErr)
			}
			if got, _, err := h2.Unlock(f, []byte(pass), AnySlot); err != nil || !bytes.Equal(got, vk) {
				t.Fatalf("our unlock after format: %v", err)
			}
		})
	}
}

// TestOracleKeyslotChanges: after our add-key, change-key, kill-slot and
// erase, cryptsetup opens the remaining slots and refuses removed ones.
func TestOracleKeyslotChanges(t *testing.T) {
	o := newOracle(t)
	img := o.image("ks.img", 20<<20)
	f := openRW(t, img)
	h, vk, err := Format(f, FormatOptions{PBKDF: fastPBKDF2, DigestIterations: 1000}, []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	high := PriorityHigh
	s1, err := h.AddKeyslot(f, vk, []byte("second"), KeyslotOptions{Slot: AnySlot, PBKDF: fastArgon, Priority: &high})
	if err != nil || s1 != 1 {
		t.Fatalf("add-key: slot %d, %v", s1, err)
	}
	s9, err := h.AddKeyslot(f, vk, []byte("ninth"), KeyslotOptions{Slot: 9, PBKDF: fastPBKDF2})
	if err != nil || s9 != 9 {
		t.Fatalf("add-key slot 9: %d, %v", s9, err)
	}
	if _, err := h.AddKeyslot(f, vk, []byte("dup"), KeyslotOptions{Slot: 9, PBKDF: fastPBKDF2}); !errors.Is(err, ErrNoSlot) {
		t.Fatalf("add-key to a used slot: %v, want ErrNoSlot", err)
	}
	kFirst, kSecond, kNinth := o.keyFile("first"), o.keyFile("second"), o.keyFile("ninth")
	for _, c := range []struct {
		kf   string
		slot int
	}{{kFirst, 0}, {kSecond, 1}, {kNinth, 9}} {
		if !o.testOpen(img, c.kf, c.slot) {
			t.Fatalf("cryptsetup does not open slot %d after add-key", c.slot)
		}
	}
	if !strings.Contains(o.must("luksDump", img), "Priority:   preferred") {
		t.Error("cryptsetup does not show the high priority of slot 1")
	}

	// change-key on slot 0
	if err := h.ChangeKey(f, 0, []byte("first"), []byte("renewed"), fastPBKDF2); err != nil {
		t.Fatal(err)
	}
	if o.testOpen(img, kFirst, 0) || !o.testOpen(img, o.keyFile("renewed"), 0) {
		t.Fatal("after change-key cryptsetup should refuse the old and accept the new passphrase in slot 0")
	}
	// kill-slot 9
	if err := h.KillSlot(f, 9); err != nil {
		t.Fatal(err)
	}
	if o.testOpen(img, kNinth, -1) || !o.testOpen(img, kSecond, 1) {
		t.Fatal("after kill-slot 9 cryptsetup should refuse its passphrase and still open slot 1")
	}
	if got := o.volumeKey(img, kSecond); !bytes.Equal(got, vk) {
		t.Fatal("volume key changed")
	}
	// Our own view agrees.
	h = readHeader(t, f)
	if _, _, err := h.Unlock(f, []byte("ninth"), AnySlot); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("unlock with a killed passphrase: %v", err)
	}
	// erase
	if err := h.Erase(f); err != nil {
		t.Fatal(err)
	}
	if o.testOpen(img, kSecond, -1) {
		t.Fatal("cryptsetup opens an erased volume")
	}
	o.must("luksDump", img)
}
