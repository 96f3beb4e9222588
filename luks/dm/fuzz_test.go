package dm

import (
	"bytes"
	"testing"
)

// FuzzParseReply feeds arbitrary bytes to every parser of kernel replies as
// a whole reply buffer. None may panic, and what parses must be consistent:
// the header re-encodes to the same bytes, the payload lies inside the
// buffer, and masking leaves no crypt key in clear.
func FuzzParseReply(f *testing.F) {
	seed := func(h header, data []byte) {
		b := make([]byte, headerSize+len(data)+16)
		h.Version = [3]uint32{4, 48, 0}
		h.DataStart = headerSize
		h.DataSize = uint32(headerSize + len(data))
		if err := h.put(b); err != nil {
			f.Fatal(err)
		}
		copy(b[headerSize:], data)
		f.Add(b)
	}
	seed(header{Name: "vol", Flags: flagActivePresent}, nil)
	var specs []byte
	specs, _ = appendTargetSpec(specs, 0, 8, "crypt", []byte("aes-xts-plain64 00112233 0 8:16 0"))
	seed(header{Name: "vol", TargetCount: 1}, specs)
	deps := make([]byte, 16)
	ne.PutUint32(deps, 1)
	ne.PutUint64(deps[8:], 0x810)
	seed(header{Name: "vol"}, deps)
	list := make([]byte, 32)
	ne.PutUint64(list, 0xfd00)
	copy(list[12:], "vol")
	ne.PutUint32(list[20:], nameListHasUUID)
	copy(list[24:], "U-1")
	seed(header{}, list)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		h, data, err := parseReply(b)
		if err != nil {
			return
		}
		if len(data) > 0 && (int(h.DataStart) < headerSize || int(h.DataSize) > len(b)) {
			t.Fatalf("payload [%d:%d] outside the %d-byte buffer", h.DataStart, h.DataSize, len(b))
		}
		again := make([]byte, headerSize)
		if err := h.put(again); err == nil {
			h2, _ := parseHeader(again)
			if h2 != h {
				t.Fatalf("header round trip: got %+v, want %+v", h2, h)
			}
		}
		_, _ = parseDeps(data)
		_, _ = parseNameList(data)
		clean := bytes.Clone(data)
		targets, err := parseTargets(data, h.TargetCount, false)
		if err != nil {
			return
		}
		for _, tg := range targets {
			if tg.Type != "crypt" {
				continue
			}
			if c, err := ParseCrypt(tg); err == nil && len(c.Key) > 0 && !bytes.Equal(c.Key, make([]byte, len(c.Key))) {
				t.Fatalf("masked table still has a key: %q (from %x)", tg.Params, clean)
			}
		}
	})
}
