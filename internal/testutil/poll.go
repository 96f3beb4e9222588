package testutil

import (
	"fmt"
	"testing"
	"time"
)

// The pause between two calls of a condition starts at firstWait and doubles
// up to maxWait: a condition that holds at once costs almost nothing, one
// that takes seconds (a guest in software emulation) is not asked more than
// ten times a second.
const (
	firstWait = time.Millisecond
	maxWait   = 100 * time.Millisecond
)

// Eventually calls cond until it returns nil. If timeout passes first, it
// fails t with cond's last error, which should say what was awaited and what
// was seen instead. cond runs on the caller's goroutine, so it may call
// t.Fatal itself for an error that waiting cannot cure.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatal(err)
	}
}

// Poll is Eventually for a caller that goes on when the time is up: it
// returns nil once cond does, or cond's last error after timeout.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	wait := firstWait
	for {
		err := cond()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(min(wait, left)) // the pause between polls, bounded by the deadline
		wait = min(2*wait, maxWait)
	}
}
