package client

import (
	"os"
	"runtime/debug"
)

// bigRun is how many entries (both snapshots and the ancestor) make a run
// big enough to trade garbage collector CPU for memory.
const bigRun = 20000

// tightGC lowers the garbage collector's target for a run over n entries
// from the default (the heap grows to twice what is live before a
// collection) to a quarter more, since a big run's live heap is its
// trees and plan, most of the process's memory; restore puts it back.
// $GOGC, when set, wins.
func tightGC(n int) (restore func()) {
	if n < bigRun || envGOGC() {
		return func() {}
	}
	old := debug.SetGCPercent(25)
	return func() { debug.SetGCPercent(old) }
}

func envGOGC() bool {
	_, ok := os.LookupEnv("GOGC")
	return ok
}
