package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, headroom uint64
		base, want     int
	}{
		{live: 4 * mib, headroom: 64 * mib, base: 100, want: 1600},   // goal 68 MiB
		{live: 200 * mib, headroom: 64 * mib, base: 100, want: 100},  // a large heap: GOGC as it was
		{live: 200 * mib, headroom: 64 * mib, base: 400, want: 400},  // never below base
		{live: mib / 2, headroom: 64 * mib, base: 100, want: 1612},   // minimum goal 4 MiB x 16.12 = 64.5 MiB
		{live: 0, headroom: 64 * mib, base: 100, want: 1600},         // before the first cycle
		{live: 64 * mib, headroom: 64 * mib, base: 100, want: 100},   // twice the live heap is the floor
		{live: 5*mib + 1, headroom: 64 * mib, base: 100, want: 1280}, // rounded up
		{live: mib / 1024, headroom: 0, base: 100, want: 100},        // no floor
	} {
		if got := percent(tc.live, tc.headroom, tc.base); got != tc.want {
			t.Errorf("percent(%d, %d, %d) = %d, want %d", tc.live, tc.headroom, tc.base, got, tc.want)
		}
	}
}

// goal reads the collector's current heap goal.
func goal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestHold(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	keep := make([][]byte, 8)
	for i := range keep {
		keep[i] = make([]byte, 1<<20) // some live heap
	}
	runtime.GC()
	const headroom = 48 << 20
	release := Hold(headroom)
	release2 := Hold(16 << 20) // nested, smaller: the larger floor stays
	// Garbage makes cycles; after each the floor is chosen again.
	for range 400 {
		_ = make([]byte, 256<<10)
	}
	runtime.GC()
	waitFloor := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			live, g := liveHeap(), goal()
			if (g >= live+headroom) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("goal %d with %d live: floor held %v, want %v", g, live, !want, want)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFloor(true)
	release2()
	release2() // a second call does nothing
	waitFloor(true)
	release()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after the last release: %d, want 100", got)
	}
	waitFloor(false)
	runtime.KeepAlive(keep)
}

func TestHoldWithCollectorOff(t *testing.T) {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	release := Hold(64 << 20)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("Hold turned the collector on: GOGC %d", got)
	}
	release()
}
