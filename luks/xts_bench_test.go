package luks

import (
	"crypto/aes"
	"testing"

	"golang.org/x/crypto/xts"
)

func BenchmarkXTSOurs(b *testing.B) {
	c, _ := newSectorCipher("aes-xts-plain64", make([]byte, 64))
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		c.crypt(buf, buf, 4096, 0, true)
	}
}

func BenchmarkXTSOursDecrypt(b *testing.B) {
	c, _ := newSectorCipher("aes-xts-plain64", make([]byte, 64))
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		c.crypt(buf, buf, 4096, 0, false)
	}
}

func BenchmarkXTSXCrypto(b *testing.B) {
	c, _ := xts.NewCipher(aes.NewCipher, make([]byte, 64))
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for i := 0; i < len(buf); i += 4096 {
			c.Encrypt(buf[i:i+4096], buf[i:i+4096], uint64(i/512))
		}
	}
}
