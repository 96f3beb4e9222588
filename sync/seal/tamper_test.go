package seal_test

import (
	"bytes"
	"errors"
	"testing"

	"simplecloud/sync/seal"
)

// isSealErr reports whether err is one of Open's conditions.
func isSealErr(err error) bool {
	return errors.Is(err, seal.ErrAuth) || errors.Is(err, seal.ErrFormat) ||
		errors.Is(err, seal.ErrTruncated) || errors.Is(err, seal.ErrExtended)
}

// tamperFile returns a key, plaintext and its sealed form of a few chunks.
func tamperFile(t *testing.T) (*seal.Key, []byte, []byte) {
	k := testKey(t, 7)
	data := stream("tamper", 3000)
	sealed, recs := sealBytes(t, k, smallChunker(t, k), data)
	if len(recs) < 4 {
		t.Fatalf("got %d records, want at least 3 chunks and the end", len(recs))
	}
	return k, data, sealed
}

// TestOpenBitFlips flips every bit of a sealed file: each must fail, and
// what was written must be a prefix of the plaintext (whole chunks that
// verified before the flipped one), never altered bytes.
func TestOpenBitFlips(t *testing.T) {
	k, data, sealed := tamperFile(t)
	for i := 0; i < len(sealed)*8; i++ {
		b := append([]byte(nil), sealed...)
		b[i/8] ^= 1 << (i % 8)
		out, err := openOut(k, b)
		if !isSealErr(err) {
			t.Fatalf("bit %d flipped: got %v, want a seal error", i, err)
		}
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("bit %d flipped: wrote %d bytes that are not a prefix of the plaintext", i, len(out))
		}
	}
}

func TestOpenTruncated(t *testing.T) {
	k, data, sealed := tamperFile(t)
	for n := 0; n < len(sealed); n++ {
		out, err := openOut(k, sealed[:n])
		want := seal.ErrTruncated
		if n < len(seal.Magic) {
			want = seal.ErrFormat
		}
		if !errors.Is(err, want) {
			t.Fatalf("cut to %d bytes: got %v, want %v", n, err, want)
		}
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("cut to %d bytes: wrote bytes that are not a prefix of the plaintext", n)
		}
	}
}

func TestOpenExtended(t *testing.T) {
	k, _, sealed := tamperFile(t)
	spans := recordSpans(t, sealed)
	for name, extra := range map[string][]byte{
		"one byte":      {0},
		"a chunk again": sealed[spans[0][0]:spans[0][1]],
		"the end again": sealed[spans[len(spans)-1][0]:],
	} {
		_, err := openOut(k, append(append([]byte(nil), sealed...), extra...))
		if !errors.Is(err, seal.ErrExtended) {
			t.Errorf("%s appended: got %v, want ErrExtended", name, err)
		}
	}
}

func TestOpenRecordsMoved(t *testing.T) {
	k, _, sealed := tamperFile(t)
	spans := recordSpans(t, sealed)
	end := len(spans) - 1
	other := testKey(t, 7) // same key, another file
	osealed, _ := sealBytes(t, other, smallChunker(t, other), stream("another file", 3000))
	ospans := recordSpans(t, osealed)
	swapped := append([]byte(nil), sealed[:spans[1][0]]...)
	swapped = append(swapped, osealed[ospans[1][0]:ospans[1][1]]...)
	swapped = append(swapped, sealed[spans[1][1]:]...)
	all := make([]int, 0, len(spans))
	for i := range spans {
		all = append(all, i)
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"first two swapped", splice(sealed, spans, append([]int{1, 0}, all[2:]...)...), seal.ErrAuth},
		{"middle chunk dropped", splice(sealed, spans, append([]int{0}, all[2:]...)...), seal.ErrAuth},
		{"last chunk dropped", splice(sealed, spans, append(append([]int{}, all[:end-1]...), end)...), seal.ErrAuth},
		{"end dropped", splice(sealed, spans, all[:end]...), seal.ErrTruncated},
		{"chunk duplicated", splice(sealed, spans, append([]int{0}, all...)...), seal.ErrAuth},
		{"chunk from another file", swapped, seal.ErrAuth},
		{"end of another file", append(append([]byte(nil), sealed[:spans[end][0]]...), osealed[ospans[len(ospans)-1][0]:]...), seal.ErrAuth},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := openOut(k, c.b); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestCheckList(t *testing.T) {
	k := testKey(t, 8)
	_, recs := sealBytes(t, k, smallChunker(t, k), stream("list", 3000))
	swapped := append([]seal.Record(nil), recs...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	resized := append([]seal.Record(nil), recs...)
	resized[0].Size++
	cases := []struct {
		name string
		key  *seal.Key
		recs []seal.Record
		want error
	}{
		{"good", k, recs, nil},
		{"wrong key", testKey(t, 9), recs, seal.ErrAuth},
		{"swapped", k, swapped, seal.ErrAuth},
		{"resized", k, resized, seal.ErrAuth},
		{"dropped", k, append(append([]seal.Record(nil), recs[:1]...), recs[2:]...), seal.ErrAuth},
		{"no end", k, recs[:len(recs)-1], seal.ErrTruncated},
		{"empty", k, nil, seal.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.key.CheckList(c.recs)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}
