package luks

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// xtsCipher is AES-XTS (IEEE 1619) over whole data units whose length is a
// multiple of 16 bytes, as dm-crypt uses it (no ciphertext stealing).
type xtsCipher struct {
	k1, k2 cipher.Block // data key, tweak key
	fast   *xtsFast     // AES-NI multi-block path, nil when unavailable
}

func newXTS(key []byte) (*xtsCipher, error) {
	if len(key) != 32 && len(key) != 64 {
		return nil, fmt.Errorf("XTS key must be 256 or 512 bits, not %d", len(key)*8)
	}
	half := len(key) / 2
	k1, err := aes.NewCipher(key[:half])
	if err != nil {
		return nil, err
	}
	k2, err := aes.NewCipher(key[half:])
	if err != nil {
		return nil, err
	}
	return &xtsCipher{k1: k1, k2: k2, fast: newXTSFast(key)}, nil
}

// mulX multiplies the tweak (lo, hi: little-endian halves) by x in GF(2^128).
func mulX(lo, hi uint64) (uint64, uint64) {
	c := hi >> 63
	hi = hi<<1 | lo>>63
	lo = lo<<1 ^ (0x87 & -c)
	return lo, hi
}

func (x *xtsCipher) tweak(iv *[16]byte) (uint64, uint64) {
	var t [16]byte
	x.k2.Encrypt(t[:], iv[:])
	return binary.LittleEndian.Uint64(t[:8]), binary.LittleEndian.Uint64(t[8:])
}

func (x *xtsCipher) encryptUnit(dst, src []byte, iv *[16]byte) {
	x.unit(dst, src, iv, true)
}

func (x *xtsCipher) decryptUnit(dst, src []byte, iv *[16]byte) {
	x.unit(dst, src, iv, false)
}

func (x *xtsCipher) unit(dst, src []byte, iv *[16]byte, encrypt bool) {
	lo, hi := x.tweak(iv)
	if x.fast != nil {
		x.fast.unit(dst, src, lo, hi, encrypt)
		return
	}
	xtsGeneric(x.k1, dst, src, lo, hi, encrypt)
}

// xtsGeneric is XTS in plain Go over any AES block, the first tweak (lo, hi).
func xtsGeneric(k1 cipher.Block, dst, src []byte, lo, hi uint64, encrypt bool) {
	var b [16]byte
	for i := 0; i+16 <= len(src); i += 16 {
		binary.LittleEndian.PutUint64(b[:8], binary.LittleEndian.Uint64(src[i:])^lo)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(src[i+8:])^hi)
		if encrypt {
			k1.Encrypt(b[:], b[:])
		} else {
			k1.Decrypt(b[:], b[:])
		}
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(b[:8])^lo)
		binary.LittleEndian.PutUint64(dst[i+8:], binary.LittleEndian.Uint64(b[8:])^hi)
		lo, hi = mulX(lo, hi)
	}
}

// encryptSectors encrypts sectors of sectorSize bytes with plain64 IVs
// starting at iv0 and advancing by step per sector.
func (x *xtsCipher) encryptSectors(dst, src []byte, sectorSize int, iv0, step uint64) {
	x.sectors(dst, src, sectorSize, iv0, step, true)
}

func (x *xtsCipher) decryptSectors(dst, src []byte, sectorSize int, iv0, step uint64) {
	x.sectors(dst, src, sectorSize, iv0, step, false)
}

func (x *xtsCipher) sectors(dst, src []byte, sectorSize int, iv0, step uint64, encrypt bool) {
	var iv [16]byte
	for off, s := 0, iv0; off < len(src); off, s = off+sectorSize, s+step {
		binary.LittleEndian.PutUint64(iv[:8], s)
		x.unit(dst[off:off+sectorSize], src[off:off+sectorSize], &iv, encrypt)
	}
}
