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

// TestGCTunerHold checks that hold stops collections until grow, which
// puts back the old target for a small run and tightens it for a big
// one, and that restore undoes a hold too; $GOGC set, hold does nothing.
func TestGCTunerHold(t *testing.T) {
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	before := gcPercent()
	for _, tc := range []struct {
		grow      int // -1: none, restore straight after the hold
		afterGrow int
	}{
		{bigRun - 1, before},
		{bigRun, 25},
		{-1, before},
	} {
		var g gcTuner
		g.hold()
		if got := gcPercent(); got != -1 {
			t.Errorf("held: GC percent %d, want -1 (off)", got)
		}
		if tc.grow >= 0 {
			g.grow(tc.grow)
			if got := gcPercent(); got != tc.afterGrow {
				t.Errorf("grow(%d) after hold: GC percent %d, want %d", tc.grow, got, tc.afterGrow)
			}
		}
		g.restore()
		if got := gcPercent(); got != before {
			t.Errorf("after restore: GC percent %d, want %d", got, before)
		}
	}
	t.Setenv("GOGC", "100")
	var g gcTuner
	g.hold()
	if got := gcPercent(); got != before {
		t.Errorf("held with $GOGC set: GC percent %d, want %d", got, before)
	}
	g.restore()
}
