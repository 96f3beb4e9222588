package luks

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// memDev is an in-memory image.
type memDev struct{ b []byte }

func (m *memDev) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memDev) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

// newTestVolume formats a small in-memory volume with fast parameters.
func newTestVolume(t testing.TB, pass string) (*memDev, *Header, []byte) {
	t.Helper()
	dev := &memDev{b: make([]byte, 4<<20)}
	h, vk, err := Format(dev, FormatOptions{
		PBKDF: fastPBKDF2, DigestIterations: 1000, DataOffset: 2 << 20,
		Device: Geometry{Size: 4 << 20, LogicalSectorSize: 512, PhysicalSectorSize: 512},
	}, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	return dev, h, vk
}

// rewriteJSON replaces the JSON text of both copies, with valid checksums.
func rewriteJSON(t *testing.T, dev *memDev, h *Header, edit func(string) string) {
	t.Helper()
	text := edit(string(h.Meta.marshal()))
	copies, err := h.encodeCopiesText([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	dev.WriteAt(copies[0], 0)
	dev.WriteAt(copies[1], int64(h.HdrSize))
}

func TestDamagedPrimaryUsesSecondary(t *testing.T) {
	dev, h, vk := newTestVolume(t, "pw")
	dev.b[5000] ^= 0xff // inside the primary JSON area
	h2, err := ReadHeader(dev)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(h2.PrimaryErr, ErrChecksum) || h2.SecondaryErr != nil {
		t.Fatalf("got primary %v secondary %v, want a checksum error on the primary only", h2.PrimaryErr, h2.SecondaryErr)
	}
	got, _, err := h2.Unlock(dev, []byte("pw"), AnySlot)
	if err != nil || !bytes.Equal(got, vk) {
		t.Fatalf("unlock from the secondary: %v", err)
	}
	if err := h2.Repair(dev); err != nil {
		t.Fatal(err)
	}
	h3, err := ReadHeader(dev)
	if err != nil || h3.NeedsRepair() {
		t.Fatalf("after repair: %v %v %v", err, h3.PrimaryErr, h3.SecondaryErr)
	}
	if h3.SeqID <= h.SeqID {
		t.Fatalf("seqid %d after repair, want above %d", h3.SeqID, h.SeqID)
	}
}

func TestWipedPrimaryFindsSecondary(t *testing.T) {
	dev, _, vk := newTestVolume(t, "pw")
	clear(dev.b[:4096]) // binary header gone: the secondary is found by scanning
	h, err := ReadHeader(dev)
	if err != nil {
		t.Fatal(err)
	}
	if h.PrimaryErr == nil {
		t.Fatal("primary damage not reported")
	}
	if got, _, err := h.Unlock(dev, []byte("pw"), AnySlot); err != nil || !bytes.Equal(got, vk) {
		t.Fatalf("unlock: %v", err)
	}
}

func TestBothCopiesDamaged(t *testing.T) {
	dev, h, _ := newTestVolume(t, "pw")
	dev.b[5000] ^= 1
	dev.b[int(h.HdrSize)+5000] ^= 1
	_, err := ReadHeader(dev)
	var nh *NoHeaderError
	if !errors.As(err, &nh) || !errors.Is(err, ErrChecksum) || !errors.Is(err, ErrInvalidHeader) {
		t.Fatalf("got %v, want a NoHeaderError with checksum mismatches", err)
	}
	for _, s := range []string{"primary header at offset 0", "secondary header at offset 16384", "checksum"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestStaleSecondary(t *testing.T) {
	dev, h, vk := newTestVolume(t, "pw")
	old := bytes.Clone(dev.b[h.HdrSize : 2*h.HdrSize])
	if _, err := h.AddKeyslot(dev, vk, []byte("two"), KeyslotOptions{Slot: AnySlot, PBKDF: fastPBKDF2}); err != nil {
		t.Fatal(err)
	}
	copy(dev.b[h.HdrSize:], old)
	h2, err := ReadHeader(dev)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(h2.SecondaryErr, ErrStaleCopy) || len(h2.Meta.Keyslots) != 2 {
		t.Fatalf("got secondary %v and %d keyslots, want a stale secondary and 2 keyslots", h2.SecondaryErr, len(h2.Meta.Keyslots))
	}
}

func TestNotLUKS(t *testing.T) {
	if _, err := ReadHeader(&memDev{b: make([]byte, 1<<20)}); !errors.Is(err, ErrNotLUKS) {
		t.Fatalf("zeros: got %v, want ErrNotLUKS", err)
	}
	if _, err := ReadHeader(&memDev{b: []byte("tiny")}); !errors.Is(err, ErrNotLUKS) {
		t.Fatalf("tiny: got %v, want ErrNotLUKS", err)
	}
}

// TestMalformedMetadata: each malformation gives an error naming the field.
func TestMalformedMetadata(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"salt not base64", `"salt":"`, `"salt":"!!`, "keyslots.0.kdf.salt: is not valid base64"},
		{"key_size string", `"key_size":64,"af"`, `"key_size":"64","af"`, "keyslots.0.key_size: is a string, want an integer"},
		{"area offset not decimal", `"offset":"32768"`, `"offset":"0x8000"`, "keyslots.0.area.offset"},
		{"area outside", `"offset":"32768"`, `"offset":"1048576000"`, "keyslots.0.area: offset 1048576000"},
		{"unknown kdf", `"type":"pbkdf2","hash":"sha256","iterations":1000,"salt"`, `"type":"scrypt","salt"`, `keyslots.0.kdf.type: "scrypt" is not a known`},
		{"missing segments", `"segments":{`, `"segmentz":{`, "segments: missing"},
		{"json_size mismatch", `"json_size":"12288"`, `"json_size":"4096"`, "config.json_size: 4096 does not match"},
		{"digest references missing keyslot", `"keyslots":["0"]`, `"keyslots":["0","7"]`, "digests.0.keyslots: references keyslot 7"},
		{"keyslot id not a number", `"keyslots":{"0":`, `"keyslots":{"x":`, "keyslots.x: object name is not a decimal number"},
		{"sector size", `"sector_size":512`, `"sector_size":1000`, "segments.0.sector_size: 1000 is not"},
		{"truncated JSON", `}}`, `}`, "JSON metadata"},
		{"duplicate member", `"type":"crypt"`, `"type":"crypt","type":"crypt"`, `duplicate member "type"`},
		{"keyslot over limit", `"keyslots":{"0":`, `"keyslots":{"40":`, "keyslots.40: id 40 is over the limit"},
		{"stripes", `"stripes":4000`, `"stripes":0`, "keyslots.0.af.stripes: 0 is out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev, h, _ := newTestVolume(t, "pw")
			rewriteJSON(t, dev, h, func(s string) string {
				if !strings.Contains(s, c.old) {
					t.Fatalf("test JSON lacks %q: %s", c.old, s)
				}
				return strings.Replace(s, c.old, c.new, 1)
			})
			_, err := ReadHeader(dev)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("error %v is not ErrInvalidHeader", err)
			}
		})
	}
}

func TestBinaryHeaderErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(b []byte)
		want string
	}{
		{"version", func(b []byte) { b[7] = 3 }, "binary header version: 3, want 2"},
		{"hdr_size", func(b []byte) { b[13] = 0x50 }, "hdr_size"},
		{"label unterminated", func(b []byte) { copy(b[offLabel:offLabel+labelLen], bytes.Repeat([]byte("a"), labelLen)) }, "binary header label: not NUL-terminated"},
		{"csum_alg", func(b []byte) { copy(b[offCsumAlg:], "md5\x00\x00\x00") }, `binary header csum_alg: "md5"`},
		{"hdr_offset", func(b []byte) { b[offHdrOffset+7] = 1 }, "binary header hdr_offset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev, h, _ := newTestVolume(t, "pw")
			c.edit(dev.b[:4096])
			c.edit(dev.b[h.HdrSize : h.HdrSize+4096])
			_, err := ReadHeader(dev)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestUnknownMembersSurvive: unknown members at every level are written
// back unchanged by a rewrite.
func TestUnknownMembersSurvive(t *testing.T) {
	dev, h, vk := newTestVolume(t, "pw")
	rewriteJSON(t, dev, h, func(s string) string {
		s = strings.Replace(s, `"config":{`, `"future":{"a":[1,2.5,"x"]},"config":{`, 1)
		s = strings.Replace(s, `"keyslots_size":"2064384"`, `"keyslots_size":"2064384","requirements":{"optional":["x"]},"cfgx":true`, 1)
		s = strings.Replace(s, `"af":{"type":"luks1"`, `"af":{"type":"luks1","afx":1`, 1)
		s = strings.Replace(s, `"tokens":{}`, `"tokens":{"0":{"keyslots":["0"],"type":"ext","blob":{"k":"v"}}}`, 1)
		return s
	})
	h, err := ReadHeader(dev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.AddKeyslot(dev, vk, []byte("x"), KeyslotOptions{Slot: AnySlot, PBKDF: fastPBKDF2}); err != nil {
		t.Fatal(err)
	}
	h, err = ReadHeader(dev)
	if err != nil {
		t.Fatal(err)
	}
	text := string(h.Meta.marshal())
	for _, s := range []string{`"future":{"a":[1,2.5,"x"]}`, `"requirements":{"optional":["x"]},"cfgx":true`, `"afx":1`,
		`"0":{"keyslots":["0"],"type":"ext","blob":{"k":"v"}}`} {
		if !strings.Contains(text, s) {
			t.Errorf("rewritten JSON lacks %s:\n%s", s, text)
		}
	}
}

// TestSlotOrder: high priority first, "ignore" only when asked for by number.
func TestSlotOrder(t *testing.T) {
	dev, h, vk := newTestVolume(t, "zero")
	prio := func(p int) *int { return &p }
	for _, c := range []struct {
		pass string
		p    *int
	}{{"one", prio(PriorityIgnore)}, {"two", nil}, {"three", prio(PriorityHigh)}} {
		if _, err := h.AddKeyslot(dev, vk, []byte(c.pass), KeyslotOptions{Slot: AnySlot, PBKDF: fastPBKDF2, Priority: c.p}); err != nil {
			t.Fatal(err)
		}
	}
	h = readHeader2(t, dev)
	if got, want := h.Meta.SlotOrder(), []int{3, 0, 2}; !slices.Equal(got, want) {
		t.Fatalf("slot order %v, want %v", got, want)
	}
	if _, _, err := h.Unlock(dev, []byte("one"), AnySlot); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("an ignored slot opened without being named: %v", err)
	}
	if _, s, err := h.Unlock(dev, []byte("one"), 1); err != nil || s != 1 {
		t.Fatalf("the ignored slot named explicitly: slot %d, %v", s, err)
	}
}

func readHeader2(t *testing.T, dev *memDev) *Header {
	t.Helper()
	h, err := ReadHeader(dev)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
