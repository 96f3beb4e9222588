package proto

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestStreamHasher: any split of the bytes into writes gives the hash
// HashReader computes from the whole.
func TestStreamHasher(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := DefaultChunker()
	for _, size := range []int{0, 1, 100, 64 << 10, 1 << 20, 1<<20 + 1, 3<<20 + 12345, 9 << 20} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		want, _, err := HashReader(c, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []int{1 << 30, 1, 4096, 256 << 10, 0} {
			s := NewStreamHasher(c)
			for rest := data; len(rest) > 0; {
				n := piece
				if n == 0 {
					n = 1 + rng.IntN(3<<20)
				}
				n = min(n, len(rest))
				if piece == 1 && size > 1<<20 {
					n = min(len(rest), 1+rng.IntN(1000)) // 1-byte writes of MiBs take too long
				}
				s.Write(rest[:n])
				rest = rest[n:]
			}
			got, n := s.Sum()
			if got != want || n != int64(size) {
				t.Errorf("size %d, writes of %d: got %s (%d bytes), want %s", size, piece, got, n, want)
			}
		}
	}
}
