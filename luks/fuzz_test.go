package luks

import (
	"bytes"
	"testing"
)

// FuzzReadHeader feeds arbitrary device contents to ReadHeader: it must
// never panic, and a header it accepts must survive a rewrite and read back
// the same.
func FuzzReadHeader(f *testing.F) {
	dev, _, _ := newTestVolume(f, "seed")
	f.Add(bytes.Clone(dev.b[:2*DefaultMetadataSize]))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHeader(bytes.NewReader(data))
		if err != nil {
			if h != nil {
				t.Fatal("header returned with an error")
			}
			return
		}
		if h.V1 != nil {
			return
		}
		text := h.Meta.marshal()
		out := &memDev{}
		if err := h.write(out); err != nil {
			return // e.g. a rewrite no longer fits the JSON area
		}
		h2, err := ReadHeader(out)
		if err != nil {
			t.Fatalf("rewritten header does not read back: %v\n%s", err, text)
		}
		if !bytes.Equal(h2.Meta.marshal(), text) {
			t.Fatalf("metadata changed in a rewrite:\n%s\n%s", text, h2.Meta.marshal())
		}
	})
}

// FuzzMetadata feeds arbitrary JSON to the metadata parser: no panics, and
// accepted metadata encodes to a fixed point.
func FuzzMetadata(f *testing.F) {
	_, h, _ := newTestVolume(f, "seed")
	f.Add(h.Meta.marshal())
	f.Add([]byte(`{"keyslots":{},"tokens":{"0":{"type":"x","keyslots":[],"a":{"b":[1,"2",null]}}},"segments":{},"digests":{},"config":{"json_size":"12288","keyslots_size":"4096","requirements":{"mandatory":["x"]}}}`))
	f.Fuzz(func(t *testing.T, text []byte) {
		m, err := parseMetadata(text, DefaultMetadataSize)
		if err != nil {
			return
		}
		enc := m.marshal()
		m2, err := parseMetadata(enc, DefaultMetadataSize)
		if err != nil {
			t.Fatalf("re-encoded metadata is rejected: %v\n%s", err, enc)
		}
		if enc2 := m2.marshal(); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}
