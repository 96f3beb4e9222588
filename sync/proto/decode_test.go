package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// frameBytes returns the wire form of m as frame id 1.
func frameBytes(t testing.TB, m Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := newConn(struct {
		io.Reader
		io.Writer
	}{strings.NewReader(""), &buf}).Send(1, true, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawFrame builds a frame around a body by hand.
func rawFrame(typ Type, body []byte) []byte {
	b := appendFrameHeader(nil, frameHeader{typ: typ, id: 1}, len(body))
	return append(b, body...)
}

func recvBytes(b []byte) (Frame, error) {
	return newConn(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(b), io.Discard}).Recv()
}

func TestBadFrames(t *testing.T) {
	batch := frameBytes(t, &EntryBatch{Entries: Entries{entry("a/b"), entry("a/c")}})
	cases := []struct {
		name string
		in   []byte
	}{
		{"length beyond max", binary.BigEndian.AppendUint32(nil, MaxFrame+1)},
		{"length 4 GiB", []byte{0xff, 0xff, 0xff, 0xff}},
		{"length below header", binary.BigEndian.AppendUint32(nil, 3)},
		{"truncated header", batch[:7]},
		{"truncated body", batch[:len(batch)-1]},
		{"unknown type", rawFrame(200, []byte{0xa0})},
		{"unknown flags", append(append(batch[:4:4], byte(TypeEntryBatch), 0x80), batch[6:]...)},
		{"body not cbor", rawFrame(TypeList, []byte{0xff})},
		{"trailing bytes", rawFrame(TypeBye, []byte{0xa0, 0x00})},
		// An array header claiming 4,000 entries in a frame of a few bytes.
		{"count beyond frame", rawFrame(TypeEntryBatch, []byte{0xa1, 0x01, 0x99, 0x0f, 0xa0, 0x80})},
		{"count beyond max batch", rawFrame(TypeEntryBatch, []byte{0xa1, 0x01, 0x9a, 0x7f, 0xff, 0xff, 0xff})},
		{"string beyond frame", rawFrame(TypeList, []byte{0xa1, 0x01, 0x5a, 0x7f, 0xff, 0xff, 0xff, 'x'})},
		{"prefix beyond previous", rawFrame(TypeEntryBatch, []byte{0xa1, 0x01, 0x81,
			0x88, 0x05, 0x41, 'x', 0x01, 0x00, 0x00, 0x00, 0x40, 0x40})},
		{"hash of 5 bytes", rawFrame(TypeChunks, []byte{0xa2, 0x01, 0x40, 0x02, 0x45, 1, 2, 3, 4, 5})},
		{"kind unknown", rawFrame(TypeEntryBatch, []byte{0xa1, 0x01, 0x81,
			0x88, 0x00, 0x41, 'x', 0x09, 0x00, 0x00, 0x00, 0x40, 0x40})},
		{"setuid mode", frameBytes(t, &Mkdir{Path: "d", Mode: 0o755})[:0]},
		{"data without offset", rawFrame(TypeData, []byte{1, 2, 3})},
		{"duplicate key", rawFrame(TypeList, []byte{0xa2, 0x01, 0x40, 0x01, 0x40})},
		{"tag", rawFrame(TypeList, []byte{0xa1, 0x01, 0xc0, 0x40})},
		{"indefinite length", rawFrame(TypeList, []byte{0xbf, 0x01, 0x40, 0xff})},
		{"error without code", rawFrame(TypeError, []byte{0xa0})},
	}
	// A Mkdir with mode 04755, encoded by hand-editing a valid frame.
	setuid := frameBytes(t, &Mkdir{Path: "d", Mode: 0o755})
	i := bytes.Index(setuid, []byte{0x19, 0x01, 0xed}) // uint16 0o755
	setuid[i+1], setuid[i+2] = 0x09, 0xed              // 0o4755
	cases[15].in = setuid
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := recvBytes(tc.in)
			if !errors.Is(err, ErrFrame) {
				t.Errorf("got %+v, %v; want an error wrapping ErrFrame", f, err)
			}
		})
	}
}

func TestCleanEOF(t *testing.T) {
	if _, err := recvBytes(nil); err != io.EOF {
		t.Errorf("empty stream: got %v, want io.EOF", err)
	}
}

// FuzzDecode feeds arbitrary bytes to Recv: it must return frames or an
// error, never panic, and never allocate past the frame bound.
func FuzzDecode(f *testing.F) {
	for _, m := range allMessages() {
		f.Add(frameBytes(f, m))
	}
	f.Add(rawFrame(TypeEntryBatch, []byte{0xa1, 0x01, 0x99, 0xea, 0x60, 0x80}))
	// A digest list whose second path claims more of the first than it has.
	f.Add(rawFrame(TypeDirDigests, append(append([]byte{0xa1, 0x01, 0x82, 0x83, 0x00, 0x41, 'a', 0x58, 32},
		make([]byte, 32)...), append([]byte{0x83, 0x05, 0x40, 0x58, 32}, make([]byte, 32)...)...)))
	f.Add(rawFrame(TypeEntryBatch, []byte{0xa2, 0x01, 0x80, 0x02, 0x82, 0x00, 0x1a, 0xff, 0xff, 0xff, 0xff}))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := newConn(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard})
		for range 8 {
			fr, err := c.Recv()
			if err != nil {
				return
			}
			// What decodes must encode again.
			if fr.Msg.Type() == TypeData || fr.Msg == nil {
				continue
			}
			if _, err := appendBody(nil, fr.Msg); err != nil {
				t.Fatalf("decoded %+v but cannot encode it: %v", fr.Msg, err)
			}
		}
	})
}
