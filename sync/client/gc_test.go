package client

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTightGC(t *testing.T) {
	t.Setenv("GOGC", "") // restored at the end; each case sets or unsets it
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	before := gcPercent()
	for _, tc := range []struct {
		n    int
		env  bool
		want int
	}{
		{bigRun - 1, false, before},
		{bigRun, false, 25},
		{bigRun * 10, true, before},
	} {
		if tc.env {
			t.Setenv("GOGC", "100")
		} else {
			os.Unsetenv("GOGC")
		}
		restore := tightGC(tc.n)
		if got := gcPercent(); got != tc.want {
			t.Errorf("tightGC(%d) with GOGC set %v: GC percent %d, want %d", tc.n, tc.env, got, tc.want)
		}
		restore()
		if got := gcPercent(); got != before {
			t.Errorf("after restore: GC percent %d, want %d", got, before)
		}
	}
}
