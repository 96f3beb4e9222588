// Package gate coordinates the ways one data volume can be unlocked at the
// same time: the console prompt and remote sessions over SSH. Every
// passphrase, from wherever it comes, goes through one Gate, which tries
// them one at a time, counts the wrong ones against a shared number of
// tries, makes each attempt after a wrong one wait longer (a back-off), and
// ends the asking everywhere once one attempt opened the volume or the
// tries are used up. The prompts watch Done to stop asking.
//
// It is a plain type with no OS calls: the opening is a function the
// caller passes, so the policy is tested without a volume.
package gate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sentinels callers branch on.
var (
	// ErrWrong wraps the opener's error for a wrong passphrase.
	ErrWrong = errors.New("wrong passphrase")
	// ErrUnlocked is returned by Try once another attempt opened the volume.
	ErrUnlocked = errors.New("already unlocked")
	// ErrExhausted is returned (wrapping ErrWrong) by the attempt that used
	// the last try, and by every Try after it.
	ErrExhausted = errors.New("no tries left")
)

// Config is what a Gate needs.
type Config struct {
	// Open tries one passphrase. It must not keep the slice.
	Open func(ctx context.Context, passphrase []byte) error
	// Wrong reports whether Open's error means a wrong passphrase (which
	// counts against Tries); other errors are returned as they are.
	Wrong func(error) bool
	// Tries is how many wrong passphrases end the asking; 0: no limit.
	Tries int
	// Backoff is the wait before the attempt that follows the given number
	// of wrong ones; nil is DefaultBackoff.
	Backoff func(failures int) time.Duration
	// Sleep waits d or until ctx ends; nil waits with a timer. Tests
	// replace it to see the waits without taking them.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultBackoff waits 0 before the first attempt, then 1s, 2s, 4s, ...,
// at most 30s.
func DefaultBackoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := time.Second << min(failures-1, 5)
	return min(d, 30*time.Second)
}

// Attempt is what Try tells of an attempt.
type Attempt struct {
	Failures int // wrong passphrases so far, from every source
	Left     int // tries left; -1: no limit
}

// Gate lets one attempt run at a time and remembers the outcome. It is
// safe for concurrent use.
type Gate struct {
	cfg  Config
	turn chan struct{} // holds a token while an attempt runs
	done chan struct{} // closed once the asking is over

	mu       sync.Mutex
	failures int
	result   error  // nil: unlocked; else why the asking ended
	winner   string // the source that unlocked
}

// New returns a Gate.
func New(cfg Config) *Gate {
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Gate{cfg: cfg, turn: make(chan struct{}, 1), done: make(chan struct{})}
}

// Done is closed once the asking is over: the volume was unlocked (Err is
// nil) or the tries are used up (Err is ErrExhausted).
func (g *Gate) Done() <-chan struct{} { return g.done }

// Err says why the asking ended; nil before Done is closed, and after a
// success.
func (g *Gate) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.result
}

// Winner is the source of the attempt that unlocked, or "".
func (g *Gate) Winner() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.winner
}

// Context returns a context that ends when parent does or the asking is
// over, for a prompt to stop waiting for its user.
func (g *Gate) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-g.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Try waits for its turn and the back-off, then tries passphrase from
// source (a name for the log and Winner). It returns nil when the volume
// was opened; an error wrapping ErrWrong for a wrong passphrase (and
// ErrExhausted too when that was the last try); ErrUnlocked or
// ErrExhausted when the asking ended before this attempt ran; ctx's error
// when ctx ended while waiting; or Open's other errors, which do not count.
// Once Open has started it runs to its end even if ctx ends: an open
// volume half checked is worse than a late answer.
func (g *Gate) Try(ctx context.Context, source string, passphrase []byte) (Attempt, error) {
	select {
	case g.turn <- struct{}{}:
	case <-g.done:
		return g.attempt(), g.ended()
	case <-ctx.Done():
		return g.attempt(), ctx.Err()
	}
	defer func() { <-g.turn }()
	if g.isDone() {
		return g.attempt(), g.ended()
	}
	wctx, cancel := g.Context(ctx)
	err := g.cfg.Sleep(wctx, g.cfg.Backoff(g.attempt().Failures))
	cancel()
	switch {
	case g.isDone():
		return g.attempt(), g.ended()
	case err != nil:
		return g.attempt(), err
	}
	err = g.cfg.Open(context.WithoutCancel(ctx), passphrase)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err == nil:
		g.winner = source
		close(g.done)
		return g.attemptLocked(), nil
	case !g.cfg.Wrong(err):
		return g.attemptLocked(), err
	}
	g.failures++
	a := g.attemptLocked()
	if a.Left == 0 {
		g.result = ErrExhausted
		close(g.done)
		return a, fmt.Errorf("%w: %w: %w", ErrExhausted, ErrWrong, err)
	}
	return a, fmt.Errorf("%w: %w", ErrWrong, err)
}

// Check runs opened, which looks whether the volume was opened by some
// other program, when no attempt is running (else it returns false at
// once), and ends the asking with source as the winner when it was.
func (g *Gate) Check(ctx context.Context, source string, opened func(context.Context) (bool, error)) (bool, error) {
	select {
	case g.turn <- struct{}{}:
	default:
		return false, nil
	}
	defer func() { <-g.turn }()
	if g.isDone() {
		return false, nil
	}
	ok, err := opened(ctx)
	if err != nil || !ok {
		return false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.winner = source
	close(g.done)
	return true, nil
}

// ended is the error of a Try made after the asking ended.
func (g *Gate) ended() error {
	if err := g.Err(); err != nil {
		return err
	}
	return ErrUnlocked
}

func (g *Gate) isDone() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

func (g *Gate) attempt() Attempt {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.attemptLocked()
}

func (g *Gate) attemptLocked() Attempt {
	a := Attempt{Failures: g.failures, Left: -1}
	if g.cfg.Tries > 0 {
		a.Left = max(g.cfg.Tries-g.failures, 0)
	}
	return a
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
