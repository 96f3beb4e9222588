// Package gcfloor makes the garbage collector of a process with a small
// live heap run less often while a stream passes through it.
//
// The collector starts a cycle when the heap has grown by GOGC percent of
// what the last cycle found live. A connection child streaming a large
// upload has a few MiB live and allocates a 32 KiB packet buffer per SSH
// packet (golang.org/x/crypto/ssh copies each packet out of its read
// buffer): a 1 GiB upload made 1 GiB of garbage and 85 cycles. While held,
// a floor keeps the next cycle's goal at least headroom bytes above the
// live heap: goal = max(live x (1 + GOGC/100), live + headroom). A large
// live heap (a tree of 200,000 files) sees no change, so the memory that
// such a tree costs does not grow; a small one trades at most headroom
// bytes of heap, for the time of the stream, for fewer cycles.
//
// The floor is kept by choosing GOGC anew after each cycle, from what that
// cycle found live (a finalizer on an object made for the purpose runs
// once per cycle). The libraries for this kind of tuning aim at a ceiling,
// not a floor: automemlimit sets GOMEMLIMIT from the cgroup's limit, and a
// memory limit only makes the collector run more often; gogctuner (cch123)
// raises GOGC under a limit but is not served by the module proxy here.
// What is needed is a few dozen lines.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// heapMinimum is the runtime's smallest goal at GOGC=100; it scales with
// GOGC (a goal is never below heapMinimum x GOGC/100), which bounds the
// GOGC a floor may set: at 10,000 percent the smallest goal is 400 MiB.
const heapMinimum = 4 << 20

var state struct {
	mu       sync.Mutex
	holds    int    // holds not yet released
	headroom uint64 // the largest of the holds' floors
	base     int    // GOGC before the first hold
	armed    bool   // a sentinel awaits the next cycle
}

// Hold keeps the collector's goal at least headroom bytes above the live
// heap until the returned release is called (once). Holds nest: the
// largest headroom of those held applies, and GOGC comes back when the
// last is released (a GOGC set by others meanwhile is not kept). A process
// with the collector off is left alone.
func Hold(headroom uint64) (release func()) {
	s := &state
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holds == 0 {
		// Read, not set: a round trip through SetGCPercent(-1) would turn
		// the collector off for a moment and wait for a running cycle.
		s.base = int(int64(readMetric("/gc/gogc:percent"))) // off reads as -1
		if s.base < 0 {
			return func() {}
		}
		s.headroom = 0
	}
	s.holds++
	s.headroom = max(s.headroom, headroom)
	apply()
	if !s.armed {
		arm()
	}
	var once sync.Once
	return func() { once.Do(unhold) }
}

// unhold releases one hold, putting GOGC back with the last.
func unhold() {
	s := &state
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds--
	if s.holds == 0 {
		debug.SetGCPercent(s.base)
	}
}

// sentinel is what the finalizer that marks a cycle's end is set on. It is
// larger than the runtime's tiny allocator takes (under 16 bytes without
// pointers, packed several to a block), where a finalizer may never run.
type sentinel struct{ _ [32]byte }

// arm makes a sentinel whose finalizer runs after the next cycle. Called
// with state.mu held.
func arm() {
	state.armed = true
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		s := &state
		s.mu.Lock()
		defer s.mu.Unlock()
		s.armed = false
		if s.holds > 0 {
			apply()
			arm()
		}
	})
}

// apply sets GOGC for the floor from the live heap the last cycle found.
// Called with state.mu held and a hold in place.
func apply() {
	debug.SetGCPercent(percent(liveHeap(), state.headroom, state.base))
}

// percent is the GOGC that puts the goal of a heap with live bytes live at
// least headroom above it, and never below base: the least that does, and
// no more than keeps the runtime's scaled minimum goal within the floor.
func percent(live, headroom uint64, base int) int {
	p := (live + headroom) * 100 / heapMinimum // the minimum goal's bound
	if live > 0 {
		p = min(p, (headroom*100+live-1)/live)
	}
	return max(base, int(p))
}

// liveHeap reads the heap the last cycle found live.
func liveHeap() uint64 { return readMetric("/gc/heap/live:bytes") }

// readMetric reads a runtime metric of kind uint64, 0 if there is none.
func readMetric(name string) uint64 {
	sample := []metrics.Sample{{Name: name}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
