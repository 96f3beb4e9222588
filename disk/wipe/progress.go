package wipe

import (
	"sync"
	"time"
)

// tracker counts the bytes done in a phase and the resume point: the end
// of the longest run of finished pieces from the start, since pieces
// finish out of order.
type tracker struct {
	phase string
	g     grid
	start time.Time

	mu       sync.Mutex
	done     int64
	finished []bool
	next     int // first piece not finished
}

func newTracker(phase string, g grid) *tracker {
	return &tracker{phase: phase, g: g, start: time.Now(), finished: make([]bool, g.n)}
}

func (tr *tracker) complete(i int, n int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.done += n
	tr.finished[i] = true
	for tr.next < len(tr.finished) && tr.finished[tr.next] {
		tr.next++
	}
}

// resume returns the offset below which everything is done.
func (tr *tracker) resume() int64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.resumeLocked()
}

func (tr *tracker) resumeLocked() int64 {
	if tr.next >= tr.g.n {
		return tr.g.size
	}
	lo, _ := tr.g.piece(tr.next)
	return lo
}

func (tr *tracker) event() Event {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	e := Event{Phase: tr.phase, BytesDone: tr.done, BytesTotal: tr.g.size - tr.g.off, Offset: tr.resumeLocked()}
	if secs := time.Since(tr.start).Seconds(); secs > 0 {
		e.RateBytesPerSec = float64(tr.done) / secs
	}
	if e.RateBytesPerSec > 0 {
		e.ETASeconds = float64(e.BytesTotal-e.BytesDone) / e.RateBytesPerSec
	}
	return e
}

// startReporter sends o.Progress an event every o.Interval until the
// returned stop is called, which sends a last one.
func startReporter(tr *tracker, o Options) (stop func()) {
	if o.Progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(o.Interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				o.Progress(tr.event())
			case <-quit:
				return
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
		o.Progress(tr.event())
	}
}
