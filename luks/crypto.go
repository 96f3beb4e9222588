package luks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/pbkdf2"
)

// newHash returns the hash named as cryptsetup names it.
func newHash(name string) (hash.Hash, error) {
	f, err := hashFunc(name)
	if err != nil {
		return nil, err
	}
	return f(), nil
}

func hashFunc(name string) (func() hash.Hash, error) {
	switch strings.ToLower(name) {
	case "sha1":
		return sha1.New, nil
	case "sha224":
		return sha256.New224, nil
	case "sha256":
		return sha256.New, nil
	case "sha384":
		return sha512.New384, nil
	case "sha512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("%w hash %q (want sha1, sha224, sha256, sha384 or sha512)", ErrUnsupported, name)
}

// afSplitSectors is the number of 512-byte sectors the AF-split form of a
// keySize-byte key in stripes stripes occupies.
func afSplitSectors(keySize, stripes int) uint64 {
	return (uint64(keySize)*uint64(stripes) + 511) / 512
}

// afSplitAreaSize is the keyslot area cryptsetup allocates for a key:
// the split key rounded up to 4096 bytes.
func afSplitAreaSize(keySize, stripes int) uint64 {
	n := afSplitSectors(keySize, stripes) * 512
	return (n + 4095) &^ 4095
}

// diffuse is the AF diffusion function: every digest-sized block of buf is
// replaced by H(be32(index) || block), the last partial block truncated.
func diffuse(h hash.Hash, buf []byte) {
	ds := h.Size()
	var idx [4]byte
	sum := make([]byte, 0, ds)
	for i, off := 0, 0; off < len(buf); i, off = i+1, off+ds {
		end := min(off+ds, len(buf))
		binary.BigEndian.PutUint32(idx[:], uint32(i))
		h.Reset()
		h.Write(idx[:])
		h.Write(buf[off:end])
		sum = h.Sum(sum[:0])
		copy(buf[off:end], sum)
	}
}

func xorBytes(dst, a, b []byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}

// afMerge recovers a keySize-byte key from its AF-split form.
func afMerge(split []byte, keySize, stripes int, hashName string) ([]byte, error) {
	h, err := newHash(hashName)
	if err != nil {
		return nil, err
	}
	if len(split) < keySize*stripes {
		return nil, fmt.Errorf("AF split data is %d bytes, want %d", len(split), keySize*stripes)
	}
	buf := make([]byte, keySize)
	for i := 0; i < stripes-1; i++ {
		xorBytes(buf, buf, split[i*keySize:(i+1)*keySize])
		diffuse(h, buf)
	}
	xorBytes(buf, buf, split[(stripes-1)*keySize:stripes*keySize])
	return buf, nil
}

// afSplit spreads key over stripes stripes of random data; the result is
// padded with zeros to whole 512-byte sectors.
func afSplit(key []byte, stripes int, hashName string) ([]byte, error) {
	h, err := newHash(hashName)
	if err != nil {
		return nil, err
	}
	ks := len(key)
	out := make([]byte, afSplitSectors(ks, stripes)*512)
	if _, err := rand.Read(out[:ks*(stripes-1)]); err != nil {
		return nil, err
	}
	buf := make([]byte, ks)
	for i := 0; i < stripes-1; i++ {
		xorBytes(buf, buf, out[i*ks:(i+1)*ks])
		diffuse(h, buf)
	}
	xorBytes(out[(stripes-1)*ks:stripes*ks], buf, key)
	clear(buf)
	return out, nil
}

// deriveKey runs the keyslot's key derivation function over the passphrase.
func deriveKey(k *KDF, pass []byte, keyLen int) ([]byte, error) {
	switch k.Type {
	case "pbkdf2":
		h, err := hashFunc(k.Hash)
		if err != nil {
			return nil, err
		}
		return pbkdf2Key(pass, k.Salt, k.Iterations, keyLen, h), nil
	case "argon2i", "argon2id":
		if k.Memory > maxArgonMemory || k.CPUs < 1 || k.CPUs > maxArgonThreads || k.Time < 1 {
			return nil, fmt.Errorf("argon2 parameters out of range (time %d, memory %d KiB, cpus %d)", k.Time, k.Memory, k.CPUs)
		}
		if avail := memAvailableKiB(); avail > 0 && k.Memory > avail {
			return nil, fmt.Errorf("argon2 needs %d KiB of memory, only %d KiB are available", k.Memory, avail)
		}
		if k.Type == "argon2i" {
			return argon2.Key(pass, k.Salt, uint32(k.Time), uint32(k.Memory), uint8(k.CPUs), uint32(keyLen)), nil
		}
		return argon2.IDKey(pass, k.Salt, uint32(k.Time), uint32(k.Memory), uint8(k.CPUs), uint32(keyLen)), nil
	}
	return nil, fmt.Errorf("%w key derivation function %q", ErrUnsupported, k.Type)
}

func pbkdf2Key(pass, salt []byte, iter, keyLen int, h func() hash.Hash) []byte {
	return pbkdf2.Key(pass, salt, iter, keyLen, h)
}

// sectorCipher encrypts and decrypts whole sectors in dm-crypt fashion.
type sectorCipher struct {
	spec  string
	mode  string // "xts" or "cbc"
	ivGen string // "plain64", "plain", "essiv"
	xts   *xtsCipher
	block cipher.Block // cbc
	essiv cipher.Block // essiv IV cipher
}

// newSectorCipher parses a dm-crypt cipher specification such as
// "aes-xts-plain64" or "aes-cbc-essiv:sha256" and keys it.
func newSectorCipher(spec string, key []byte) (*sectorCipher, error) {
	parts := strings.SplitN(spec, "-", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w cipher %q (want cipher-mode-iv, e.g. aes-xts-plain64)", ErrUnsupported, spec)
	}
	if parts[0] != "aes" {
		return nil, fmt.Errorf("%w cipher %q: only aes is implemented", ErrUnsupported, spec)
	}
	c := &sectorCipher{spec: spec, mode: parts[1]}
	iv := parts[2]
	switch {
	case iv == "plain64" || iv == "plain":
		c.ivGen = iv
	case strings.HasPrefix(iv, "essiv:"):
		c.ivGen = "essiv"
		h, err := newHash(strings.TrimPrefix(iv, "essiv:"))
		if err != nil {
			return nil, fmt.Errorf("cipher %q: %w", spec, err)
		}
		h.Write(key)
		salt := h.Sum(nil)
		if c.essiv, err = aes.NewCipher(salt); err != nil {
			return nil, fmt.Errorf("cipher %q: essiv hash gives no AES key size: %w", spec, err)
		}
	default:
		return nil, fmt.Errorf("%w IV generator in %q", ErrUnsupported, spec)
	}
	var err error
	switch c.mode {
	case "xts":
		if c.ivGen == "essiv" {
			return nil, fmt.Errorf("%w cipher %q", ErrUnsupported, spec)
		}
		c.xts, err = newXTS(key)
	case "cbc":
		c.block, err = aes.NewCipher(key)
	default:
		return nil, fmt.Errorf("%w cipher mode in %q", ErrUnsupported, spec)
	}
	if err != nil {
		return nil, fmt.Errorf("cipher %q with a %d-bit key: %w", spec, len(key)*8, err)
	}
	return c, nil
}

func (c *sectorCipher) iv(dst *[16]byte, sector uint64) {
	*dst = [16]byte{}
	switch c.ivGen {
	case "plain":
		binary.LittleEndian.PutUint32(dst[:], uint32(sector))
	case "plain64":
		binary.LittleEndian.PutUint64(dst[:], sector)
	case "essiv":
		binary.LittleEndian.PutUint64(dst[:], sector)
		c.essiv.Encrypt(dst[:], dst[:])
	}
}

// crypt en- or decrypts src into dst, which hold whole sectors of
// sectorSize bytes; the first uses IV sector iv0, and the IV advances by
// sectorSize/512 per sector (dm-crypt without iv_large_sectors).
func (c *sectorCipher) crypt(dst, src []byte, sectorSize int, iv0 uint64, encrypt bool) {
	if len(src)%sectorSize != 0 || len(dst) < len(src) {
		panic("luks: crypt on a partial sector")
	}
	step := uint64(sectorSize / 512)
	if c.mode == "xts" && c.ivGen == "plain64" {
		if encrypt {
			c.xts.encryptSectors(dst, src, sectorSize, iv0, step)
		} else {
			c.xts.decryptSectors(dst, src, sectorSize, iv0, step)
		}
		return
	}
	var iv [16]byte
	for off, s := 0, iv0; off < len(src); off, s = off+sectorSize, s+step {
		c.iv(&iv, s)
		d, sr := dst[off:off+sectorSize], src[off:off+sectorSize]
		switch c.mode {
		case "xts":
			if encrypt {
				c.xts.encryptUnit(d, sr, &iv)
			} else {
				c.xts.decryptUnit(d, sr, &iv)
			}
		case "cbc":
			if encrypt {
				cipher.NewCBCEncrypter(c.block, iv[:]).CryptBlocks(d, sr)
			} else {
				cipher.NewCBCDecrypter(c.block, iv[:]).CryptBlocks(d, sr)
			}
		}
	}
}
