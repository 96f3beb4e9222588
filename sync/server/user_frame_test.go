package server

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// recorder keeps each Write as one chunk.
type recorder struct{ chunks [][]byte }

func (r *recorder) Write(p []byte) (int, error) {
	r.chunks = append(r.chunks, append([]byte(nil), p...))
	return len(p), nil
}

func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestFrameWriter(t *testing.T) {
	a, b := frame("hello"), frame("")
	tests := []struct {
		name   string
		writes [][]byte
		want   [][]byte
	}{
		{"whole packet", [][]byte{a}, [][]byte{a}},
		{"header then payload", [][]byte{a[:6], a[6:]}, [][]byte{a}},
		{"byte by byte", [][]byte{a[:1], a[1:2], a[2:4], a[4:5], a[5:]}, [][]byte{a}},
		{"two packets at once", [][]byte{append(append([]byte{}, a...), b...)}, [][]byte{append(append([]byte{}, a...), b...)}},
		{"packet and a half", [][]byte{append(append([]byte{}, a...), b[:2]...), b[2:]}, [][]byte{a, b}},
		{"empty body", [][]byte{b}, [][]byte{b}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			w := &frameWriter{w: &r}
			for _, p := range tc.writes {
				if n, err := w.Write(p); n != len(p) || err != nil {
					t.Fatalf("Write: got %d, %v; want %d, nil", n, err, len(p))
				}
			}
			if len(r.chunks) != len(tc.want) {
				t.Fatalf("got %d writes %q, want %d %q", len(r.chunks), r.chunks, len(tc.want), tc.want)
			}
			for i := range r.chunks {
				if !bytes.Equal(r.chunks[i], tc.want[i]) {
					t.Errorf("write %d: got %q, want %q", i, r.chunks[i], tc.want[i])
				}
			}
		})
	}
}
