package client

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestGCTuner(t *testing.T) {
	t.Setenv("GOGC", "") // restored at the end; each case sets or unsets it
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	before := gcPercent()
	for _, tc := range []struct {
		n    []int
		env  bool
		want int
	}{
		{[]int{bigRun - 1}, false, before},
		{[]int{bigRun}, false, 25},
		{[]int{10, bigRun, bigRun * 2}, false, 25},
		{[]int{bigRun * 10}, true, before},
	} {
		if tc.env {
			t.Setenv("GOGC", "100")
		} else {
			os.Unsetenv("GOGC")
		}
		var g gcTuner
		for _, n := range tc.n {
			g.grow(n)
		}
		if got := gcPercent(); got != tc.want {
			t.Errorf("grow(%v) with GOGC set %v: GC percent %d, want %d", tc.n, tc.env, got, tc.want)
		}
		want := tc.want
		if want == 25 {
			want = 10
		}
		g.squeeze()
		if got := gcPercent(); got != want {
			t.Errorf("squeeze after grow(%v) with GOGC set %v: GC percent %d, want %d", tc.n, tc.env, got, want)
		}
		g.restore()
		if got := gcPercent(); got != before {
			t.Errorf("after restore: GC percent %d, want %d", got, before)
		}
	}
}
