//go:build !amd64 || purego

package luks

// xtsFast is the multi-block AES-NI XTS path; this build has none.
type xtsFast struct{}

func newXTSFast(key []byte) *xtsFast { return nil }

func (f *xtsFast) unit(dst, src []byte, lo, hi uint64, encrypt bool) {
	panic("luks: no fast XTS path")
}

// name says which implementation runs.
func (f *xtsFast) name() string { return "pure Go" }
