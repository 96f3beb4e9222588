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
	held  bool // no collections until the next grow (see hold)
	old   int
}

// hold stops collections until the next grow, for loading the ancestor:
// its decoding allocates little besides the tree it keeps (see decoder),
// so a collection then frees nothing and only marks the tree so far (at
// 100,000 entries the two that ran cost 40 ms of CPU, a twentieth of the
// run). The heap grows no further for it than it would anyway.
func (g *gcTuner) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tight || g.held || envGOGC() {
		return
	}
	g.old, g.held = debug.SetGCPercent(-1), true
}

// grow notes a run of n entries so far, tightening once n reaches bigRun;
// it ends a hold either way.
func (g *gcTuner) grow(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case n >= bigRun && !g.tight && !envGOGC():
		if old := debug.SetGCPercent(25); !g.held {
			g.old = old
		}
		g.tight, g.held = true, false
	case g.held:
		debug.SetGCPercent(g.old)
		g.held = false
	}
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
	if g.tight || g.held {
		debug.SetGCPercent(g.old)
		g.tight, g.held = false, false
	}
}

func envGOGC() bool {
	_, ok := os.LookupEnv("GOGC")
	return ok
}
