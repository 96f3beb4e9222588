package durable

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestGroup: many concurrent callers share few calls of do (at most one
// each), every one returns after a call that started after its own, and
// do's error reaches them.
func TestGroup(t *testing.T) {
	var calls atomic.Int64
	g := NewGroup(func() error { calls.Add(1); return nil })
	errs := make(chan error, 64)
	for range 64 {
		go func() { errs <- g.Sync() }()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); g.done != 64 || g.running || n < 1 || n > 64 {
		t.Errorf("after 64 calls: done %d, running %v, %d calls of do", g.done, g.running, n)
	}
	bad := errors.New("disk on fire")
	if err := NewGroup(func() error { return bad }).Sync(); !errors.Is(err, bad) {
		t.Errorf("sync with a failing do: got %v, want %v", err, bad)
	}
}
