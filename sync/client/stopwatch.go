package client

import (
	"log/slog"
	"sync"
	"time"
)

// stopwatch logs, at debug level, how long each step of a run took (from
// the step before it ended), and the whole run.
type stopwatch struct {
	log   *slog.Logger
	start time.Time
	mu    sync.Mutex
	last  time.Time
}

func newStopwatch(log *slog.Logger) *stopwatch {
	now := time.Now()
	return &stopwatch{log: log, start: now, last: now}
}

// lap logs the step that just ended.
func (w *stopwatch) lap(step string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.log.Debug("run step", "step", step, "took", now.Sub(w.last).Round(time.Millisecond), "at", now.Sub(w.start).Round(time.Millisecond))
	w.last = now
}

// done logs the whole run.
func (w *stopwatch) done() {
	w.log.Debug("run", "took", time.Since(w.start).Round(time.Millisecond))
}
