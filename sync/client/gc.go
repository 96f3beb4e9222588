package client

import (
	"os"
	"runtime/debug"
	"sync"
)

// bigRun is how many entries (both snapshots and the ancestor) make a run
// big enough to trade garbage collector CPU for memory.
const bigRun = 20000

// gcTuner lowers the garbage collector's target for a big run from the
// default (the heap grows to twice what is live before a collection) to
// a quarter more, since a big run's live heap is its trees and plan, most
// of the process's memory. It does so as soon as the run is known to be
// big: at the start when the ancestor is, else when a scan has counted
// bigRun entries (a first sync's scan is where its heap grows). $GOGC,
// when set, wins. Its methods are safe for concurrent use.
type gcTuner struct {
	mu    sync.Mutex
	tight bool
	old   int
}

// grow notes a run of n entries so far, tightening once n reaches bigRun.
func (g *gcTuner) grow(n int) {
	if n < bigRun {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tight || envGOGC() {
		return
	}
	g.old, g.tight = debug.SetGCPercent(25), true
}

// squeeze lowers a tight target further, to a tenth more than is live,
// for the bookkeeping after the transfers: the plan, the snapshots and
// the new trees are all held then (the run's largest live heap), while
// it allocates little more than the new trees, so a collection is rare
// even so.
func (g *gcTuner) squeeze() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tight {
		debug.SetGCPercent(10)
	}
}

// restore puts the collector's target back.
func (g *gcTuner) restore() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tight {
		debug.SetGCPercent(g.old)
		g.tight = false
	}
}

func envGOGC() bool {
	_, ok := os.LookupEnv("GOGC")
	return ok
}
