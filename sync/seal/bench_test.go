package seal_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"io"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"simplecloud/sync/proto"
)

const benchSize = 8 << 20

// benchInput returns 8 MiB of data, a key and its chunker with the default
// (protocol v1) sizes.
func benchInput(b *testing.B) ([]byte, *proto.Chunker) {
	k := testKey(b, 30)
	c, err := proto.NewChunker(proto.DefaultParams, k.GearSeed())
	if err != nil {
		b.Fatal(err)
	}
	return stream("bench", benchSize), c
}

func BenchmarkSeal(b *testing.B) {
	data, c := benchInput(b)
	k := testKey(b, 30)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := k.Seal(io.Discard, bytes.NewReader(data), c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	data, c := benchInput(b)
	k := testKey(b, 30)
	sealed, _ := sealBytes(b, k, c, data)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := k.Open(io.Discard, bytes.NewReader(sealed)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlainHash is what a plain folder spends per byte: chunking and
// SHA-256 chunk ids (proto.HashReader).
func BenchmarkPlainHash(b *testing.B) {
	data, c := benchInput(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, _, err := proto.HashReader(c, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// blockBench runs fn over data in 1 MiB pieces.
func blockBench(b *testing.B, fn func(p []byte)) {
	data := stream("bench", benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		for off := 0; off < len(data); off += 1 << 20 {
			fn(data[off : off+1<<20])
		}
	}
}

func BenchmarkAESGCM(b *testing.B) {
	blk, _ := aes.NewCipher(make([]byte, 32))
	g, _ := cipher.NewGCM(blk)
	nonce, out := make([]byte, g.NonceSize()), make([]byte, 0, 2<<20)
	blockBench(b, func(p []byte) { g.Seal(out[:0], nonce, p, nil) })
}

func BenchmarkXChaCha20Poly1305(b *testing.B) {
	a, _ := chacha20poly1305.NewX(make([]byte, 32))
	nonce, out := make([]byte, a.NonceSize()), make([]byte, 0, 2<<20)
	blockBench(b, func(p []byte) { a.Seal(out[:0], nonce, p, nil) })
}

func BenchmarkSHA256(b *testing.B) {
	blockBench(b, func(p []byte) { sha256.Sum256(p) })
}

func BenchmarkHMACSHA512_256(b *testing.B) {
	m := hmac.New(sha512.New512_256, make([]byte, 32))
	blockBench(b, func(p []byte) { m.Reset(); m.Write(p); m.Sum(nil) })
}

func BenchmarkHMACSHA256(b *testing.B) {
	m := hmac.New(sha256.New, make([]byte, 32))
	blockBench(b, func(p []byte) { m.Reset(); m.Write(p); m.Sum(nil) })
}

func BenchmarkBLAKE2b256Keyed(b *testing.B) {
	m, _ := blake2b.New256(make([]byte, 32))
	blockBench(b, func(p []byte) { m.Reset(); m.Write(p); m.Sum(nil) })
}

// BenchmarkChunkOnly is the chunker alone: the part of Seal no key work
// can overlap.
func BenchmarkChunkOnly(b *testing.B) {
	data, c := benchInput(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		if err := c.Split(bytes.NewReader(data), func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
