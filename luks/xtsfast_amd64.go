//go:build amd64 && !purego

package luks

import (
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// xtsFast is AES-XTS on AES-NI, eight blocks in flight at a time
// (xts_amd64.s); the tweak of each data unit comes from the caller.
type xtsFast struct {
	enc, dec []byte // round keys of the data key
	nr       int
	vaes     bool // use the 256-bit VAES variant (xts_vaes_amd64.s)
}

// hasVAES reports VAES with 256-bit registers: CPUID.7.0:ECX bit 9 and
// AVX2 with the OS saving the YMM state (x/sys/cpu reports VAES only
// together with AVX-512).
var hasVAES = cpu.X86.HasAVX2 && cpuid7ecx()&(1<<9) != 0

func newXTSFast(key []byte) *xtsFast {
	if !cpu.X86.HasAES || !cpu.X86.HasSSE2 {
		return nil
	}
	enc, nr := aesExpandKey(key[:len(key)/2])
	return &xtsFast{enc: enc, dec: aesDecryptKeys(enc, nr), nr: nr, vaes: hasVAES}
}

// unit en- or decrypts one data unit whose first tweak is (lo, hi).
func (f *xtsFast) unit(dst, src []byte, lo, hi uint64, encrypt bool) {
	if len(src) < 16 {
		return
	}
	var t [16]byte
	binary.LittleEndian.PutUint64(t[:8], lo)
	binary.LittleEndian.PutUint64(t[8:], hi)
	n := len(src) &^ 15
	_ = dst[n-1]
	switch {
	case encrypt && f.vaes:
		xtsEncVAES(&f.enc[0], f.nr, &dst[0], &src[0], n, &t)
	case encrypt:
		xtsEncAsm(&f.enc[0], f.nr, &dst[0], &src[0], n, &t)
	case f.vaes:
		xtsDecVAES(&f.dec[0], f.nr, &dst[0], &src[0], n, &t)
	default:
		xtsDecAsm(&f.dec[0], f.nr, &dst[0], &src[0], n, &t)
	}
}

//go:noescape
func xtsEncAsm(xk *byte, nr int, dst, src *byte, n int, tweak *[16]byte)

//go:noescape
func xtsEncVAES(xk *byte, nr int, dst, src *byte, n int, tweak *[16]byte)

//go:noescape
func xtsDecVAES(xk *byte, nr int, dst, src *byte, n int, tweak *[16]byte)

func cpuid7ecx() uint32

//go:noescape
func xtsDecAsm(xk *byte, nr int, dst, src *byte, n int, tweak *[16]byte)

// name says which implementation runs.
func (f *xtsFast) name() string {
	switch {
	case f == nil:
		return "pure Go"
	case f.vaes:
		return "VAES"
	}
	return "AES-NI"
}
