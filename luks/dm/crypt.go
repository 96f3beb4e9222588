package dm

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// CryptTarget describes one dm-crypt mapping: Length sectors of Device,
// starting at sector Offset, decrypted with Cipher and Key. All offsets and
// lengths are in 512-byte sectors, whatever the SectorSize.
type CryptTarget struct {
	Cipher   string // as dm-crypt names it, e.g. "aes-xts-plain64"
	Key      []byte // raw volume key; CreateCrypt does not keep or modify it
	IVOffset uint64 // added to the sector number to make the IV
	Offset   uint64 // start of the encrypted data on Device
	Length   uint64 // size of the mapping
	Device   string // a block device path or "MAJOR:MINOR"
	// SectorSize is the encryption sector size in bytes: 0 or 512 for 512,
	// or 1024, 2048, 4096.
	SectorSize    int
	AllowDiscards bool // pass discards down (leaks which blocks are unused)
	ReadOnly      bool // load the table read-only
}

// params returns the crypt table line
//
//	<cipher> <hexkey> <iv_offset> <device> <offset> [<#opt> allow_discards sector_size:N]
//
// in a fresh byte slice that the caller must clear. It checks t first.
func (t *CryptTarget) params() ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	var opts []string
	if t.AllowDiscards {
		opts = append(opts, "allow_discards")
	}
	if t.SectorSize != 0 && t.SectorSize != 512 {
		opts = append(opts, "sector_size:"+strconv.Itoa(t.SectorSize))
	}
	tail := " " + strconv.FormatUint(t.IVOffset, 10) + " " + t.Device + " " + strconv.FormatUint(t.Offset, 10)
	if len(opts) > 0 {
		tail += " " + strconv.Itoa(len(opts)) + " " + strings.Join(opts, " ")
	}
	// Size the slice once so appending never copies the key elsewhere.
	b := make([]byte, 0, len(t.Cipher)+1+hex.EncodedLen(len(t.Key))+len(tail))
	b = append(b, t.Cipher...)
	b = append(b, ' ')
	b = hex.AppendEncode(b, t.Key)
	b = append(b, tail...)
	return b, nil
}

// validate checks what the kernel would otherwise reject with a bare
// EINVAL. Messages never include the key.
func (t *CryptTarget) validate() error {
	if !isToken(t.Cipher) {
		return fmt.Errorf("crypt target: cipher %q: want a non-empty word", t.Cipher)
	}
	if len(t.Key) == 0 {
		return fmt.Errorf("crypt target: empty key")
	}
	if !isToken(t.Device) {
		return fmt.Errorf("crypt target: device %q: want a path or MAJOR:MINOR", t.Device)
	}
	if t.Length == 0 {
		return fmt.Errorf("crypt target: length is zero")
	}
	switch t.SectorSize {
	case 0, 512, 1024, 2048, 4096:
	default:
		return fmt.Errorf("crypt target: sector size %d: want 512, 1024, 2048 or 4096", t.SectorSize)
	}
	if per := uint64(max(t.SectorSize, 512) / 512); t.Length%per != 0 {
		return fmt.Errorf("crypt target: length of %d sectors is not a multiple of the %d-byte sector size",
			t.Length, t.SectorSize)
	}
	return nil
}

// isToken reports whether s is one non-empty word of printable ASCII, as
// every field of a table line must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// maskCryptKey overwrites, in place, the hex key (second word) of crypt
// table parameters with '0' characters of the same length, so the key size
// stays visible. A key given as a kernel keyring reference (":size:type:
// description") or "-" names no secret and is left as it is.
func maskCryptKey(params []byte) {
	i := 0
	word := func() []byte { // the next word of params
		for i < len(params) && isSpace(params[i]) {
			i++
		}
		start := i
		for i < len(params) && !isSpace(params[i]) {
			i++
		}
		return params[start:i]
	}
	word() // the cipher
	key := word()
	if len(key) == 0 || key[0] == ':' || string(key) == "-" {
		return
	}
	for i := range key {
		key[i] = '0'
	}
}

// isSpace reports whether c separates the words of a table line.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// maxKeyBytes bounds the key size a keyring reference may claim.
const maxKeyBytes = 1024

// parseKeyField reads the key word of a crypt table: hex, a keyring
// reference (returned as zeros of its size) or "-".
func parseKeyField(s string) ([]byte, error) {
	switch {
	case s == "-":
		return nil, nil
	case strings.HasPrefix(s, ":"):
		size, _, ok := strings.Cut(s[1:], ":")
		n, err := strconv.Atoi(size)
		if !ok || err != nil || n <= 0 || n > maxKeyBytes {
			return nil, fmt.Errorf("keyring key reference %q has no valid size", s)
		}
		return make([]byte, n), nil
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("key is not hex") // never quote the key
	}
	return key, nil
}

// ParseCrypt reads the parameters of a crypt target as Table returns them.
// Key holds the decoded key only for a table read with TableWithKeys.
// Otherwise it is all zeros of the key's length, so len(Key) still gives
// the key size: when the table was masked, and when the key lives in the
// kernel keyring (":SIZE:TYPE:DESCRIPTION", as cryptsetup loads LUKS2
// keys). It is nil for "-" (no key). Optional arguments other than
// allow_discards and sector_size are ignored; ReadOnly is not part of a
// table (see Info.ReadOnly).
func ParseCrypt(t Target) (CryptTarget, error) {
	if t.Type != "crypt" {
		return CryptTarget{}, fmt.Errorf("parse crypt table: target type is %q", t.Type)
	}
	f := strings.FieldsFunc(t.Params, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
	if len(f) < 5 {
		return CryptTarget{}, fmt.Errorf("parse crypt table: %d fields, want at least 5", len(f))
	}
	c := CryptTarget{Cipher: f[0], Device: f[3], Length: t.Length, SectorSize: 512}
	var err error
	if c.Key, err = parseKeyField(f[1]); err != nil {
		return CryptTarget{}, fmt.Errorf("parse crypt table: %w", err)
	}
	if c.IVOffset, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return CryptTarget{}, fmt.Errorf("parse crypt table: iv_offset: %w", err)
	}
	if c.Offset, err = strconv.ParseUint(f[4], 10, 64); err != nil {
		return CryptTarget{}, fmt.Errorf("parse crypt table: offset: %w", err)
	}
	if len(f) == 5 {
		return c, nil
	}
	n, err := strconv.Atoi(f[5])
	if err != nil || n != len(f)-6 {
		return CryptTarget{}, fmt.Errorf("parse crypt table: optional argument count %q does not match %d arguments", f[5], len(f)-6)
	}
	for _, opt := range f[6:] {
		switch {
		case opt == "allow_discards":
			c.AllowDiscards = true
		case strings.HasPrefix(opt, "sector_size:"):
			if c.SectorSize, err = strconv.Atoi(strings.TrimPrefix(opt, "sector_size:")); err != nil {
				return CryptTarget{}, fmt.Errorf("parse crypt table: %s: %w", opt, err)
			}
		}
	}
	return c, nil
}
