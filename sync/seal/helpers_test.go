package seal_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"simplecloud/sync/proto"
	"simplecloud/sync/seal"
)

// testKey returns the key whose secret is 32 bytes of b.
func testKey(t testing.TB, b byte) *seal.Key {
	t.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// smallChunker cuts chunks of 64..1024 bytes with k's gear seed, so that
// small test files have many chunks.
func smallChunker(t testing.TB, k *seal.Key) *proto.Chunker {
	t.Helper()
	c, err := proto.NewChunker(proto.Params{Min: 64, Avg: 256, Max: 1024}, k.GearSeed())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stream returns n pseudo-random bytes (SHA-256 in counter mode of seed).
func stream(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		s := sha256.Sum256(append([]byte(seed), ctr[:]...))
		out = append(out, s[:]...)
	}
	return out[:n]
}

// sealBytes seals data with k and sp and returns the sealed bytes and
// records.
func sealBytes(t testing.TB, k *seal.Key, sp seal.Splitter, data []byte) ([]byte, []seal.Record) {
	t.Helper()
	var b bytes.Buffer
	recs, err := k.Seal(&b, bytes.NewReader(data), sp)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	return b.Bytes(), recs
}

// recordSpans returns the [start, end) byte offsets of each record of a
// sealed file (the end record last).
func recordSpans(t testing.TB, sealed []byte) [][2]int {
	t.Helper()
	var spans [][2]int
	off := len(seal.Magic)
	for off < len(sealed) {
		n := int(binary.BigEndian.Uint32(sealed[off+seal.IDSize:]))
		spans = append(spans, [2]int{off, off + seal.IDSize + 4 + n})
		off += seal.IDSize + 4 + n
	}
	return spans
}

// splice returns a copy of sealed with the records in the order of idx
// (indexes into spans), keeping the magic.
func splice(sealed []byte, spans [][2]int, idx ...int) []byte {
	out := append([]byte(nil), sealed[:len(seal.Magic)]...)
	for _, i := range idx {
		out = append(out, sealed[spans[i][0]:spans[i][1]]...)
	}
	return out
}
