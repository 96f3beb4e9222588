package luks

import (
	"encoding/binary"
	"fmt"
	"io"
)

// LUKS1 on-disk layout (LUKS1 On-Disk Format Specification 1.2.3).
const (
	luks1HeaderSize   = 592
	luks1Slots        = 8
	luks1SlotActive   = 0x00AC71F3
	luks1SlotDisabled = 0x0000DEAD
	luks1DigestSize   = 20
	luks1SaltSize     = 32
)

// LUKS1Header is a parsed LUKS1 header.
type LUKS1Header struct {
	CipherName    string // "aes"
	CipherMode    string // "xts-plain64", "cbc-essiv:sha256", ...
	HashSpec      string // pbkdf2 and AF hash
	PayloadOffset uint32 // in 512-byte sectors
	KeyBytes      uint32
	MKDigest      []byte
	MKDigestSalt  []byte
	MKDigestIter  uint32
	Slots         [luks1Slots]LUKS1Slot
}

// LUKS1Slot is one of the eight LUKS1 key slots.
type LUKS1Slot struct {
	Active         bool
	Iterations     uint32
	Salt           []byte
	KeyMaterialOff uint32 // in 512-byte sectors
	Stripes        uint32
}

// Cipher returns the dm-crypt cipher specification, e.g. "aes-xts-plain64".
func (h *LUKS1Header) Cipher() string { return h.CipherName + "-" + h.CipherMode }

func (h *LUKS1Header) areaEnd() uint64 {
	end := uint64(luks1HeaderSize)
	for _, s := range h.Slots {
		e := uint64(s.KeyMaterialOff)*512 + afSplitSectors(int(h.KeyBytes), int(s.Stripes))*512
		if e > end {
			end = e
		}
	}
	return end
}

func readLUKS1(r io.ReaderAt) (*Header, error) {
	b := make([]byte, luks1HeaderSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, &HeaderError{Copy: "LUKS1", Err: fmt.Errorf("read: %w", err)}
	}
	h, uuid, err := parseLUKS1(b)
	if err != nil {
		return nil, &HeaderError{Copy: "LUKS1", Err: err}
	}
	return &Header{Version: 1, UUID: uuid, V1: h}, nil
}

func parseLUKS1(b []byte) (*LUKS1Header, string, error) {
	h := &LUKS1Header{}
	var err error
	str := func(off, n int, name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = cString(b[off:off+n], name)
		return s
	}
	h.CipherName = str(8, 32, "cipher-name")
	h.CipherMode = str(40, 32, "cipher-mode")
	h.HashSpec = str(72, 32, "hash-spec")
	uuid := str(168, 40, "uuid")
	if err != nil {
		return nil, "", err
	}
	h.PayloadOffset = binary.BigEndian.Uint32(b[104:])
	h.KeyBytes = binary.BigEndian.Uint32(b[108:])
	h.MKDigest = append([]byte(nil), b[112:132]...)
	h.MKDigestSalt = append([]byte(nil), b[132:164]...)
	h.MKDigestIter = binary.BigEndian.Uint32(b[164:])
	if h.KeyBytes == 0 || h.KeyBytes > maxKeySize {
		return nil, "", fieldErr("key-bytes", "%d is not a valid key size", h.KeyBytes)
	}
	if h.MKDigestIter == 0 {
		return nil, "", fieldErr("mk-digest-iter", "is zero")
	}
	if _, err := newHash(h.HashSpec); err != nil {
		return nil, "", fieldErr("hash-spec", "%v", err)
	}
	type span struct{ off, end uint64 }
	var spans []span
	for i := range luks1Slots {
		o := 208 + 48*i
		s := &h.Slots[i]
		state := binary.BigEndian.Uint32(b[o:])
		s.Iterations = binary.BigEndian.Uint32(b[o+4:])
		s.Salt = append([]byte(nil), b[o+8:o+40]...)
		s.KeyMaterialOff = binary.BigEndian.Uint32(b[o+40:])
		s.Stripes = binary.BigEndian.Uint32(b[o+44:])
		field := fmt.Sprintf("key-slot-%d", i)
		switch state {
		case luks1SlotActive:
			s.Active = true
		case luks1SlotDisabled:
		default:
			return nil, "", fieldErr(field+" active", "0x%08x is neither enabled nor disabled", state)
		}
		if !s.Active {
			continue
		}
		if s.Iterations == 0 {
			return nil, "", fieldErr(field+" iterations", "is zero")
		}
		if s.Stripes == 0 || s.Stripes > maxStripes {
			return nil, "", fieldErr(field+" stripes", "%d is not supported", s.Stripes)
		}
		off := uint64(s.KeyMaterialOff) * 512
		end := off + afSplitSectors(int(h.KeyBytes), int(s.Stripes))*512
		if off < luks1HeaderSize {
			return nil, "", fieldErr(field+" key-material-offset", "%d overlaps the header", s.KeyMaterialOff)
		}
		if h.PayloadOffset != 0 && end > uint64(h.PayloadOffset)*512 {
			return nil, "", fieldErr(field+" key-material-offset", "key material [%d, %d) overlaps the payload at %d",
				off, end, uint64(h.PayloadOffset)*512)
		}
		for _, sp := range spans {
			if off < sp.end && sp.off < end {
				return nil, "", fieldErr(field+" key-material-offset", "overlaps another key slot")
			}
		}
		spans = append(spans, span{off, end})
	}
	return h, uuid, nil
}
