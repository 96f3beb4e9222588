package luks

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/xts"
)

// TestXTSKnownAnswer: IEEE 1619-2007 vector 10 (AES-256, data unit 0xff).
func TestXTSKnownAnswer(t *testing.T) {
	key, _ := hex.DecodeString("2718281828459045235360287471352662497757247093699959574966967627" +
		"3141592653589793238462643383279502884197169399375105820974944592")
	pt := make([]byte, 512)
	for i := range pt {
		pt[i] = byte(i)
	}
	want, _ := hex.DecodeString("1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b")
	c, err := newSectorCipher("aes-xts-plain64", key)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, 512)
	c.crypt(ct, pt, 512, 0xff, true)
	if !bytes.Equal(ct[:32], want) {
		t.Fatalf("got %x, want %x", ct[:32], want)
	}
}

// TestXTSMatchesReference compares our XTS with golang.org/x/crypto/xts
// (sector number as the tweak, as plain64) for both key sizes and sector
// sizes, including the IV stepping of 4096-byte sectors.
func TestXTSMatchesReference(t *testing.T) {
	for _, keyLen := range []int{32, 64} {
		for _, ss := range []int{512, 4096} {
			key := make([]byte, keyLen)
			rand.Read(key)
			data := make([]byte, 8*ss+0)
			rand.Read(data)
			ref, err := xts.NewCipher(aes.NewCipher, key)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, len(data))
			const iv0 = 12345
			for i := 0; i < len(data)/ss; i++ {
				ref.Encrypt(want[i*ss:(i+1)*ss], data[i*ss:(i+1)*ss], uint64(iv0+i*ss/512))
			}
			c, _ := newSectorCipher("aes-xts-plain64", key)
			got := make([]byte, len(data))
			c.crypt(got, data, ss, iv0, true)
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d sector %d: encryption differs from x/crypto/xts", keyLen*8, ss)
			}
			c.crypt(got, got, ss, iv0, false)
			if !bytes.Equal(got, data) {
				t.Fatalf("key %d sector %d: decryption does not round-trip", keyLen*8, ss)
			}
		}
	}
}

// TestXTSFastPaths checks every XTS implementation this build has (pure Go,
// AES-NI, VAES) against the pure Go one on data units of 1 to 40 blocks,
// which exercises both the multi-block loops and the one-block tails.
func TestXTSFastPaths(t *testing.T) {
	key := make([]byte, 64)
	rand.Read(key)
	if x, _ := newXTS(key); true {
		t.Logf("XTS implementation in use: %s", x.fast.name())
	}
	for _, keyLen := range []int{32, 64} {
		ref, _ := newXTS(key[:keyLen])
		ref.fast = nil
		for _, v := range xtsVariants(key[:keyLen]) {
			for blocks := 1; blocks <= 40; blocks++ {
				src := make([]byte, 16*blocks)
				rand.Read(src)
				iv := [16]byte{byte(blocks), 7}
				want, got := make([]byte, len(src)), make([]byte, len(src))
				ref.encryptUnit(want, src, &iv)
				v.x.encryptUnit(got, src, &iv)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s, %d-bit key, %d blocks: encryption differs", v.name, keyLen*8, blocks)
				}
				v.x.decryptUnit(got, got, &iv)
				if !bytes.Equal(got, src) {
					t.Fatalf("%s, %d-bit key, %d blocks: decryption differs", v.name, keyLen*8, blocks)
				}
			}
		}
	}
}
