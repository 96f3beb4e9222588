//go:build amd64 && !purego

package luks

type xtsVariant struct {
	name string
	x    *xtsCipher
}

// xtsVariants returns the XTS implementations this machine can run.
func xtsVariants(key []byte) []xtsVariant {
	var out []xtsVariant
	sseOK, vaesOK := fastPaths()
	if x, _ := newXTS(key); x.fast != nil {
		sse := *x.fast
		sse.vaes = false
		if sseOK {
			out = append(out, xtsVariant{"AES-NI", &xtsCipher{k1: x.k1, k2: x.k2, fast: &sse}})
		}
		if vaesOK {
			v := *x.fast
			v.vaes = true
			out = append(out, xtsVariant{"VAES", &xtsCipher{k1: x.k1, k2: x.k2, fast: &v}})
		}
	}
	return out
}
