package seal_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/daead/subtle"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dbl is RFC 5297's doubling in GF(2^128).
func dbl(b []byte) []byte {
	out := make([]byte, 16)
	for i := 0; i < 16; i++ {
		out[i] = b[i] << 1
		if i < 15 {
			out[i] |= b[i+1] >> 7
		}
	}
	if b[0]&0x80 != 0 {
		out[15] ^= 0x87
	}
	return out
}

func xorInto(dst, src []byte) {
	for i := range src {
		dst[i] ^= src[i]
	}
}

// refCMAC is AES-CMAC (RFC 4493), written from the RFC for this test only.
func refCMAC(c cipher.Block, m []byte) []byte {
	l := make([]byte, 16)
	c.Encrypt(l, l)
	k1 := dbl(l)
	k2 := dbl(k1)
	n := (len(m) + 15) / 16
	last := make([]byte, 16)
	if n > 0 && len(m)%16 == 0 {
		copy(last, m[(n-1)*16:])
		xorInto(last, k1)
	} else {
		if n == 0 {
			n = 1
		}
		rest := m[(n-1)*16:]
		copy(last, rest)
		last[len(rest)] = 0x80
		xorInto(last, k2)
	}
	x := make([]byte, 16)
	for i := 0; i < n-1; i++ {
		xorInto(x, m[i*16:(i+1)*16])
		c.Encrypt(x, x)
	}
	xorInto(x, last)
	c.Encrypt(x, x)
	return x
}

// refSIV is AES-SIV encryption (RFC 5297 section 2.6) with the strings
// ad..., written from the RFC for this test only: a second opinion on the
// library.
func refSIV(t *testing.T, key, pt []byte, ad ...[]byte) []byte {
	half := len(key) / 2
	mac, err := aes.NewCipher(key[:half])
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := aes.NewCipher(key[half:])
	if err != nil {
		t.Fatal(err)
	}
	d := refCMAC(mac, make([]byte, 16))
	for _, s := range ad {
		d = dbl(d)
		xorInto(d, refCMAC(mac, s))
	}
	var last []byte
	if len(pt) >= 16 {
		last = append([]byte(nil), pt...)
		xorInto(last[len(last)-16:], d)
	} else {
		last = dbl(d)
		pad := make([]byte, 16)
		copy(pad, pt)
		pad[len(pt)] = 0x80
		xorInto(last, pad)
	}
	v := refCMAC(mac, last)
	q := append([]byte(nil), v...)
	q[8] &= 0x7f
	q[12] &= 0x7f
	out := make([]byte, len(pt))
	cipher.NewCTR(ctr, q).XORKeyStream(out, pt)
	return append(v, out...)
}

// TestRefSIVRFC5297 checks the reference against RFC 5297's two examples
// (appendix A.1 and A.2, AES-128-SIV).
func TestRefSIVRFC5297(t *testing.T) {
	a1 := refSIV(t,
		unhex(t, "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff"),
		unhex(t, "11223344 55667788 99aabbcc ddee"),
		unhex(t, "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627"))
	if want := unhex(t, "85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c"); !bytes.Equal(a1, want) {
		t.Errorf("A.1: got %x, want %x", a1, want)
	}
	a2 := refSIV(t,
		unhex(t, "7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f"),
		unhex(t, "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553"),
		unhex(t, "00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100"),
		unhex(t, "10203040 50607080 90a0"),
		unhex(t, "09f91102 9d74e35b d84156c5 635688c0"))
	want := unhex(t, "7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17 dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d")
	if !bytes.Equal(a2, want) {
		t.Errorf("A.2: got %x, want %x", a2, want)
	}
}

// TestTinkSIV checks the library's AES-256-SIV (64-byte keys, the only
// size it takes; RFC 5297's examples are AES-128) against Wycheproof's
// vectors (aes_siv_cmac_test.json, tcIds as noted) and against the
// RFC-checked reference on random inputs.
func TestTinkSIV(t *testing.T) {
	seq := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	vectors := []struct{ id, key, ad, msg, ct string }{
		{"305", "e2c5662bb18fbb411d0304e4241db073fe60a4704fee290073513038a22b4cd542580b2b4edbc37e3de01c0cb61abcad46986cdc491ce9e5ae5af223ff58b953",
			"fab912dec29a34aabfaef176", "0d", "1c6969ecb15741a9959b7a8492250e391a"},
		{"320", "139383f3f82dc78e0b380027f9e5fcd2ed23716404be5c554452e4dc73d237026594491820c6b8297185cc1fa84f49a5c7d7cd05c5de090ff1c3397bc2740437",
			"d39da73ffc03ad0a9213ffc7", "48604944a80fadf50d55b87727934458c8", "a9cf73951cb39823777f35c96c845169476e2ec2317cb6b8dd8b6172fdceabff9d"},
		{"326", seq, "000102030405060708090a0b0c0d0e0f", "bfa1733d07afa03cb3f2eeb81bbde037", "000000000000000000000000000000004ce637d6ca9cdf1c2feb0d140865cddb"},
		{"331", seq, "", "6eb52fc95a5185a3bd2a30d3058414ab", "ffffffffffffffff7fffffffffffffff21518997d2d5c4ac067bc0ab21a27af1"},
	}
	for _, v := range vectors {
		siv, err := subtle.NewAESSIV(unhex(t, v.key))
		if err != nil {
			t.Fatal(err)
		}
		got, err := siv.EncryptDeterministically(unhex(t, v.msg), unhex(t, v.ad))
		if err != nil || hex.EncodeToString(got) != v.ct {
			t.Errorf("tcId %s: got %x (%v), want %s", v.id, got, err, v.ct)
		}
		if ref := refSIV(t, unhex(t, v.key), unhex(t, v.msg), unhex(t, v.ad)); hex.EncodeToString(ref) != v.ct {
			t.Errorf("tcId %s: reference got %x, want %s", v.id, ref, v.ct)
		}
		pt, err := siv.DecryptDeterministically(got, unhex(t, v.ad))
		if err != nil || hex.EncodeToString(pt) != v.msg {
			t.Errorf("tcId %s: decrypt got %x (%v), want %s", v.id, pt, err, v.msg)
		}
	}
	// tcId 336: a flipped tag bit must not decrypt.
	siv, _ := subtle.NewAESSIV(unhex(t, seq))
	if _, err := siv.DecryptDeterministically(unhex(t, "202e4a8f8b4c66788f3af230fb1c3ada5ead70c7f066d4df"), nil); err == nil {
		t.Error("tcId 336: a flipped tag bit decrypted")
	}
	for i := 0; i < 50; i++ {
		key, pt, ad := make([]byte, 64), make([]byte, i*3), make([]byte, i%20)
		rand.Read(key)
		rand.Read(pt)
		rand.Read(ad)
		siv, err := subtle.NewAESSIV(key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := siv.EncryptDeterministically(pt, ad)
		if want := refSIV(t, key, pt, ad); !bytes.Equal(got, want) {
			t.Fatalf("random input %d: library %x, reference %x", i, got, want)
		}
	}
}
