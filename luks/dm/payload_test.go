package dm

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestAppendTargetSpecLayout(t *testing.T) {
	skipBigEndian(t)
	params := []byte("aes-xts-plain64 00112233 0 8:16 4096") // 36 bytes
	got, err := appendTargetSpec(nil, 0, 2048, "crypt", params)
	if err != nil {
		t.Fatal(err)
	}
	// 40-byte spec + 36 bytes + NUL = 77, padded to 80.
	want := layout(80,
		patch{0, le64(0)},    // sector_start
		patch{8, le64(2048)}, // length
		patch{16, le32(0)},   // status
		patch{20, le32(80)},  // next: the size of this record
		patch{24, []byte("crypt")},
		patch{40, params},
	)
	if !bytes.Equal(got, want) {
		t.Errorf("spec differs from the hand-computed layout:\n got %x\nwant %x", got, want)
	}

	// A second spec starts where next points.
	two, err := appendTargetSpec(got, 2048, 8, "zero", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(two) != 80+48 || string(two[80+24:80+28]) != "zero" {
		t.Errorf("second spec: %d bytes total, type %q; want 128, \"zero\"", len(two), two[80+24:80+28])
	}
}

func TestAppendTargetSpecRejects(t *testing.T) {
	for _, c := range []struct {
		typ    string
		params string
	}{{"", "x"}, {strings.Repeat("t", 16), "x"}, {"crypt", "a\x00b"}} {
		if _, err := appendTargetSpec(nil, 0, 1, c.typ, []byte(c.params)); err == nil {
			t.Errorf("type %q params %q accepted", c.typ, c.params)
		}
	}
}

// statusReply lays targets out as DM_TABLE_STATUS does: next is relative to
// the first spec.
func statusReply(t *testing.T, targets ...Target) []byte {
	t.Helper()
	var data []byte
	for _, tg := range targets {
		var err error
		if data, err = appendTargetSpec(data, tg.Start, tg.Length, tg.Type, []byte(tg.Params)); err != nil {
			t.Fatal(err)
		}
	}
	// Rewrite the record-relative next fields as offsets from the start.
	off := 0
	for range targets {
		n := int(ne.Uint32(data[off+20:]))
		ne.PutUint32(data[off+20:], uint32(off+n))
		off += n
	}
	return data
}

func TestParseTargets(t *testing.T) {
	key := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	in := []Target{
		{0, 2048, "crypt", "aes-xts-plain64 " + key + " 0 8:16 4096 1 allow_discards"},
		{2048, 1024, "linear", "8:32 0"},
		{3072, 8, "crypt", "aes-xts-plain64 :64:logon:cryptsetup:abc 0 8:16 0"},
	}
	data := statusReply(t, in...)
	got, err := parseTargets(bytes.Clone(data), 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("with keys:\n got %+v\nwant %+v", got, in)
	}

	masked := bytes.Clone(data)
	got, err = parseTargets(masked, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]Target(nil), in...)
	want[0].Params = "aes-xts-plain64 " + strings.Repeat("0", 64) + " 0 8:16 4096 1 allow_discards"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("masked:\n got %+v\nwant %+v", got, want)
	}
	if bytes.Contains(masked, []byte(key)) {
		t.Errorf("the key is still in the reply buffer after masking")
	}

	for _, c := range []struct {
		what  string
		data  []byte
		count uint32
	}{
		{"count past data", data, 4},
		{"truncated spec", data[:30], 1},
		{"no NUL", bytes.TrimRight(data[:40+10], "\x00"), 1},
		{"next backwards", func() []byte { d := bytes.Clone(data); ne.PutUint32(d[20:], 8); return d }(), 2},
		{"absurd count", data, 1 << 20},
	} {
		if _, err := parseTargets(c.data, c.count, true); err == nil {
			t.Errorf("%s: accepted", c.what)
		}
	}
	if got, err := parseTargets(nil, 0, false); err != nil || len(got) != 0 {
		t.Errorf("no table: got %v, %v; want nothing", got, err)
	}
}

func TestParseDeps(t *testing.T) {
	skipBigEndian(t)
	data := layout(24, patch{0, le32(2)}, patch{8, le64(0x810)}, patch{16, le64(0x10fe00)})
	got, err := parseDeps(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Dev{{8, 16}, {254, 256}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, err := parseDeps(nil); err != nil || got != nil {
		t.Errorf("empty: got %v, %v", got, err)
	}
	for _, bad := range [][]byte{data[:4], data[:23], layout(16, patch{0, le32(0xffffffff)})} {
		if _, err := parseDeps(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func TestParseNameList(t *testing.T) {
	skipBigEndian(t)
	// Linux 5.14+ with DM_UUID_FLAG: entry "a" with a uuid, entry "bb"
	// without one. "a\0" sits at 12-13; aligned to 16 come event_nr and
	// flags (HAS_UUID); the uuid "U-1\0" at 24-27; aligned to 32 the next
	// entry, whose "bb\0" at 44-46 is followed at 48 by event_nr and flags
	// (DOESNT_HAVE_UUID).
	modern := layout(56,
		patch{0, le64(0xfd00)}, patch{8, le32(32)}, patch{12, []byte("a")},
		patch{16, le32(3)}, patch{20, le32(1)}, patch{24, []byte("U-1")},
		patch{32, le64(0xfd01)}, patch{40, le32(0)}, patch{44, []byte("bb")},
		patch{48, le32(5)}, patch{52, le32(2)},
	)
	got, err := parseNameList(modern)
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{{Name: "a", UUID: "U-1", Major: 253, Minor: 0}, {Name: "bb", Major: 253, Minor: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("modern: got %+v, want %+v", got, want)
	}

	// Before Linux 4.12 nothing followed the name.
	old := layout(32,
		patch{0, le64(0xfd00)}, patch{8, le32(16)}, patch{12, []byte("a")},
		patch{16, le64(0xfd01)}, patch{24, le32(0)}, patch{28, []byte("bb")},
	)
	got, err = parseNameList(old)
	if err != nil {
		t.Fatal(err)
	}
	want = []Device{{Name: "a", Major: 253}, {Name: "bb", Major: 253, Minor: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old: got %+v, want %+v", got, want)
	}

	if got, err := parseNameList(make([]byte, 16)); err != nil || got != nil {
		t.Errorf("empty list (dev 0): got %v, %v", got, err)
	}
	for what, bad := range map[string][]byte{
		"next past end": layout(16, patch{0, le64(1)}, patch{8, le32(64)}, patch{12, []byte("a")}),
		"no NUL":        layout(16, patch{0, le64(1)}, patch{12, []byte("abcd")}),
		"next inside":   layout(32, patch{0, le64(1)}, patch{8, le32(4)}, patch{12, []byte("a")}),
		"uuid no NUL":   layout(24, patch{0, le64(1)}, patch{12, []byte("a")}, patch{20, le32(1)}),
	} {
		if _, err := parseNameList(bad); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

func TestTargetMessage(t *testing.T) {
	skipBigEndian(t)
	got := targetMessage(0, "@cancel_deferred_remove")
	want := append(append(le64(0), "@cancel_deferred_remove"...), 0)
	if !bytes.Equal(got, want) {
		t.Errorf("got %x, want %x", got, want)
	}
}
