package seal_test

import (
	"bytes"
	"io"
	"testing"

	"simplecloud/sync/seal"
)

// whole is a Splitter that makes one chunk of its whole input.
type whole struct{}

func (whole) Split(r io.Reader, fn func([]byte) error) error {
	b, err := io.ReadAll(r)
	if err != nil || len(b) == 0 {
		return err
	}
	return fn(b)
}

// writes records each Write separately.
type writes [][]byte

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, append([]byte(nil), p...))
	return len(p), nil
}

// FuzzOpen opens arbitrary bytes: it must never panic, every write to the
// destination must be a chunk that this key sealed and that occurs in the
// input as a whole record, and a success must mean the input is exactly
// what Seal makes of the output.
func FuzzOpen(f *testing.F) {
	k := testKey(f, 20)
	for _, n := range []int{0, 1, 100, 3000} {
		sealed, _ := sealBytes(f, k, smallChunker(f, k), stream("fuzz", n))
		f.Add(sealed)
	}
	f.Add([]byte(seal.Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var w writes
		_, err := k.Open(&w, bytes.NewReader(data))
		for i, p := range w {
			one, _ := sealBytes(t, k, whole{}, p)
			rec := one[len(seal.Magic) : len(one)-(seal.IDSize+4+8)]
			if !bytes.Contains(data, rec) {
				t.Fatalf("write %d (%d bytes) is not a record of the input", i, len(p))
			}
		}
		if err == nil {
			resealed, _ := sealBytes(t, k, smallChunker(t, k), bytes.Join(w, nil))
			if !bytes.Equal(resealed, data) {
				t.Fatalf("Open accepted %d bytes that Seal does not make of the output", len(data))
			}
		}
	})
}
