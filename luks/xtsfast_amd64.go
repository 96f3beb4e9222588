//go:build amd64 && !purego

package luks

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"sync"

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

// fastPaths runs each assembly variant once against the Go code and
// reports which give the right answer. A CPU (or emulator: qemu's TCG)
// may claim instructions it does not execute correctly; then the variant
// is not used.
var fastPaths = sync.OnceValues(func() (sseOK, vaesOK bool) {
	if !cpu.X86.HasAES || !cpu.X86.HasSSE2 {
		return false, false
	}
	key := make([]byte, 64)
	for i := range key {
		key[i] = byte(i*37 + 11)
	}
	src := make([]byte, 16*21) // the 16- and 8-block loops and a tail
	for i := range src {
		src[i] = byte(i*13 + 5)
	}
	k1, _ := aes.NewCipher(key[:32])
	const lo, hi = 0x0123456789abcdef, 0x8edcba9876543210
	want := make([]byte, len(src))
	xtsGeneric(k1, want, src, lo, hi, true)
	enc, nr := aesExpandKey(key[:32])
	f := &xtsFast{enc: enc, dec: aesDecryptKeys(enc, nr), nr: nr}
	check := func() bool {
		got := make([]byte, len(src))
		f.unit(got, src, lo, hi, true)
		if !bytes.Equal(got, want) {
			return false
		}
		f.unit(got, got, lo, hi, false)
		return bytes.Equal(got, src)
	}
	sseOK = check()
	if hasVAES {
		f.vaes = true
		vaesOK = check()
	}
	return sseOK, vaesOK
})

func newXTSFast(key []byte) *xtsFast {
	sseOK, vaesOK := fastPaths()
	if !sseOK && !vaesOK {
		return nil
	}
	enc, nr := aesExpandKey(key[:len(key)/2])
	return &xtsFast{enc: enc, dec: aesDecryptKeys(enc, nr), nr: nr, vaes: vaesOK}
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
