package dm

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// The expected layouts below are written out by hand from dm-ioctl.h, with
// literal offsets rather than this package's constants, for a
// little-endian machine.

func skipBigEndian(t *testing.T) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("hand-computed layouts are little-endian")
	}
}

// patch is a run of bytes at an offset of an otherwise zero buffer.
type patch struct {
	off int
	b   []byte
}

func layout(size int, patches ...patch) []byte {
	b := make([]byte, size)
	for _, p := range patches {
		copy(b[p.off:], p.b)
	}
	return b
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestNewRequestLayout(t *testing.T) {
	skipBigEndian(t)
	h := header{Name: "vol", UUID: "CRYPT-PLAIN-vol", Flags: 0x8000 | 0x1, TargetCount: 1, EventNr: 7, Dev: 0x10203}
	got, err := newRequest(h, []byte("PAYLOAD"), 400)
	if err != nil {
		t.Fatal(err)
	}
	want := layout(400,
		patch{0, le32(4)}, patch{4, le32(27)}, patch{8, le32(0)}, // version 4.27.0
		patch{12, le32(400)},                  // data_size: the whole buffer
		patch{16, le32(312)},                  // data_start: right after the header
		patch{20, le32(1)},                    // target_count
		patch{28, le32(0x8001)},               // flags
		patch{32, le32(7)},                    // event_nr
		patch{40, le64(0x10203)},              // dev, after 4 bytes of padding
		patch{48, []byte("vol")},              // name[128]
		patch{176, []byte("CRYPT-PLAIN-vol")}, // uuid[129]
		patch{312, []byte("PAYLOAD")},         // payload
	)
	if !bytes.Equal(got, want) {
		t.Errorf("request differs from the hand-computed layout:\n got %x\nwant %x", got, want)
	}
}

func TestNewRequestGrowsToFitPayload(t *testing.T) {
	got, err := newRequest(header{Name: "x"}, make([]byte, 1000), 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 312+1000+1 {
		t.Errorf("buffer is %d bytes, want %d", len(got), 312+1000+1)
	}
	if ds := binary.NativeEndian.Uint32(got[12:]); ds != uint32(len(got)) {
		t.Errorf("data_size %d, want %d", ds, len(got))
	}
}

func TestHeaderRejectsLongStrings(t *testing.T) {
	for _, h := range []header{{Name: strings.Repeat("n", 128)}, {UUID: strings.Repeat("u", 129)}} {
		if _, err := newRequest(h, nil, 512); err == nil {
			t.Errorf("name of %d and uuid of %d bytes accepted", len(h.Name), len(h.UUID))
		}
	}
	// The longest legal strings keep their terminating NUL.
	h := header{Name: strings.Repeat("n", 127), UUID: strings.Repeat("u", 128)}
	b, err := newRequest(h, nil, 512)
	if err != nil {
		t.Fatal(err)
	}
	if b[48+127] != 0 || b[176+128] != 0 {
		t.Errorf("name or uuid not NUL-terminated at the end of its array")
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := header{
		Version: [3]uint32{4, 48, 1}, DataSize: 16384, DataStart: 312, TargetCount: 3, OpenCount: -1,
		Flags: 0xdeadbeef, EventNr: 9, Dev: 0xfe00001, Name: "a name", UUID: "CRYPT-LUKS2-abc-a",
	}
	b := make([]byte, 312)
	if err := h.put(b); err != nil {
		t.Fatal(err)
	}
	got, err := parseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Errorf("round trip: got %+v, want %+v", got, h)
	}
}

// reply builds a kernel reply: header with version 4.x, data_start 312 and
// data_size covering data.
func reply(t *testing.T, h header, data []byte, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	h.Version = [3]uint32{4, 48, 0}
	h.DataStart = 312
	h.DataSize = uint32(312 + len(data))
	if len(data) == 0 {
		h.DataSize = 305
	}
	if err := h.put(b); err != nil {
		t.Fatal(err)
	}
	copy(b[312:], data)
	return b
}

func TestParseReply(t *testing.T) {
	b := reply(t, header{Name: "vol", Flags: 0x20}, []byte("abcdefgh"), 1024)
	h, data, err := parseReply(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "vol" || string(data) != "abcdefgh" {
		t.Errorf("got name %q data %q, want \"vol\" \"abcdefgh\"", h.Name, data)
	}

	b = reply(t, header{Name: "vol"}, nil, 1024)
	if _, data, err = parseReply(b); err != nil || len(data) != 0 {
		t.Errorf("reply without data: got %q, %v; want no data, no error", data, err)
	}

	bad := []struct {
		what string
		edit func(b []byte)
	}{
		{"short", nil},
		{"major 5", func(b []byte) { binary.NativeEndian.PutUint32(b[0:], 5) }},
		{"data_size past buffer", func(b []byte) { binary.NativeEndian.PutUint32(b[12:], 1025) }},
		{"data_start inside header", func(b []byte) { binary.NativeEndian.PutUint32(b[16:], 100) }},
	}
	for _, c := range bad {
		b := reply(t, header{Name: "vol"}, []byte("abcdefgh"), 1024)
		if c.edit == nil {
			b = b[:311]
		} else {
			c.edit(b)
		}
		if _, _, err := parseReply(b); err == nil {
			t.Errorf("%s: parseReply accepted it", c.what)
		}
	}
}

func TestDevEncoding(t *testing.T) {
	cases := []struct {
		dev  Dev
		huge uint64
	}{
		{Dev{253, 0}, 0xfd00},
		{Dev{8, 16}, 0x810},
		{Dev{254, 256}, 0x10fe00},        // minor bit 8 lands at bit 20
		{Dev{4095, 0xfffff}, 0xffffffff}, // 12-bit major, 20-bit minor
	}
	for _, c := range cases {
		if got := encodeDev(c.dev); got != c.huge {
			t.Errorf("encodeDev(%v) = %#x, want %#x", c.dev, got, c.huge)
		}
		if got := decodeDev(c.huge); got != c.dev {
			t.Errorf("decodeDev(%#x) = %v, want %v", c.huge, got, c.dev)
		}
	}
}

func TestInfoOf(t *testing.T) {
	h := header{Name: "v", UUID: "u", Dev: 0xfd03, OpenCount: 2, TargetCount: 1, Flags: 0x1 | 0x2 | 0x20000}
	got := infoOf(h)
	want := Info{Name: "v", UUID: "u", Major: 253, Minor: 3, OpenCount: 2, TargetCount: 1,
		Suspended: true, ReadOnly: true, DeferredRemove: true, Exists: true}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := infoOf(header{Name: "v"}); got.Suspended || got.ReadOnly || got.DeferredRemove {
		t.Errorf("flags 0 gave %+v", got)
	}
}
