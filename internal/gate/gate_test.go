package gate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var errKey = errors.New("no key available with this passphrase")

// volume is an opener that accepts one passphrase and records the waits.
type volume struct {
	mu     sync.Mutex
	opens  int
	waits  []time.Duration
	inOpen chan struct{} // when set, Open signals it and waits for release
	rel    chan struct{}
}

func (v *volume) gate(tries int) *Gate {
	return New(Config{
		Open: func(ctx context.Context, p []byte) error {
			v.mu.Lock()
			v.opens++
			v.mu.Unlock()
			if v.inOpen != nil {
				v.inOpen <- struct{}{}
				<-v.rel
			}
			if string(p) == "right" {
				return nil
			}
			return errKey
		},
		Wrong: func(err error) bool { return errors.Is(err, errKey) },
		Tries: tries,
		Sleep: func(ctx context.Context, d time.Duration) error {
			v.mu.Lock()
			v.waits = append(v.waits, d)
			v.mu.Unlock()
			return ctx.Err()
		},
	})
}

func TestDefaultBackoff(t *testing.T) {
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		if got := DefaultBackoff(n); got != w {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", n, got, w)
		}
	}
}

func TestTries(t *testing.T) {
	cases := []struct {
		name      string
		tries     int
		pass      []string
		wantErrs  []error // nil: success
		wantLeft  []int
		wantWaits []time.Duration
		wantOpens int
		wantDone  bool
		wantFinal error
	}{
		{"right at once", 3, []string{"right"}, []error{nil}, []int{3}, []time.Duration{0}, 1, true, nil},
		{"wrong then right", 3, []string{"a", "b", "right"}, []error{ErrWrong, ErrWrong, nil}, []int{2, 1, 1},
			[]time.Duration{0, time.Second, 2 * time.Second}, 3, true, nil},
		{"exhausted", 2, []string{"a", "b", "right"}, []error{ErrWrong, ErrExhausted, ErrExhausted}, []int{1, 0, 0},
			[]time.Duration{0, time.Second}, 2, true, ErrExhausted},
		{"no limit", 0, []string{"a", "b", "c"}, []error{ErrWrong, ErrWrong, ErrWrong}, []int{-1, -1, -1},
			[]time.Duration{0, time.Second, 2 * time.Second}, 3, false, nil},
		{"after success", 0, []string{"right", "a"}, []error{nil, ErrUnlocked}, []int{-1, -1}, []time.Duration{0}, 1, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &volume{}
			g := v.gate(c.tries)
			for i, p := range c.pass {
				a, err := g.Try(context.Background(), "src", []byte(p))
				if (c.wantErrs[i] == nil) != (err == nil) || (err != nil && !errors.Is(err, c.wantErrs[i])) {
					t.Errorf("attempt %d: got error %v, want %v", i+1, err, c.wantErrs[i])
				}
				if a.Left != c.wantLeft[i] {
					t.Errorf("attempt %d: got %d tries left, want %d", i+1, a.Left, c.wantLeft[i])
				}
			}
			if v.opens != c.wantOpens {
				t.Errorf("got %d opens, want %d", v.opens, c.wantOpens)
			}
			if len(v.waits) != len(c.wantWaits) {
				t.Fatalf("got waits %v, want %v", v.waits, c.wantWaits)
			}
			for i := range v.waits {
				if v.waits[i] != c.wantWaits[i] {
					t.Errorf("got waits %v, want %v", v.waits, c.wantWaits)
					break
				}
			}
			if got := g.isDone(); got != c.wantDone {
				t.Errorf("got done %v, want %v", got, c.wantDone)
			}
			if err := g.Err(); !errors.Is(err, c.wantFinal) || (err == nil) != (c.wantFinal == nil) {
				t.Errorf("got Err %v, want %v", err, c.wantFinal)
			}
		})
	}
}

// TestFirstWins: two sources at once; the one whose attempt runs first
// wins, the other learns ErrUnlocked without its passphrase being tried,
// and a prompt waiting on Context is stopped.
func TestFirstWins(t *testing.T) {
	v := &volume{inOpen: make(chan struct{}), rel: make(chan struct{})}
	g := v.gate(3)
	prompt, cancel := g.Context(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := g.Try(context.Background(), "console", []byte("right"))
		first <- err
	}()
	<-v.inOpen // the console's attempt runs
	second := make(chan error, 1)
	go func() {
		_, err := g.Try(context.Background(), "ssh", []byte("right"))
		second <- err
	}()
	close(v.rel)
	if err := <-first; err != nil {
		t.Fatalf("first attempt: got %v, want success", err)
	}
	if err := <-second; !errors.Is(err, ErrUnlocked) {
		t.Errorf("second attempt: got %v, want ErrUnlocked", err)
	}
	select {
	case <-prompt.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the other prompt's context did not end")
	}
	if g.Winner() != "console" || v.opens != 1 {
		t.Errorf("got winner %q after %d opens, want console after 1", g.Winner(), v.opens)
	}
}

// TestCancelWhileWaiting: a Try waiting for its back-off ends with its
// context, and with the gate when another source wins meanwhile.
func TestCancelWhileWaiting(t *testing.T) {
	v := &volume{}
	g := v.gate(0)
	g.cfg.Sleep = sleep
	g.cfg.Backoff = func(n int) time.Duration { return time.Duration(n) * time.Hour }
	if _, err := g.Try(context.Background(), "a", []byte("wrong")); !errors.Is(err, ErrWrong) {
		t.Fatalf("got %v, want ErrWrong", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := g.Try(ctx, "a", []byte("right"))
		res <- err
	}()
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Try: got %v, want context.Canceled", err)
	}
	// The other way to end the wait: the asking ends.
	go func() {
		_, err := g.Try(context.Background(), "b", []byte("right"))
		res <- err
	}()
	g.mu.Lock()
	g.result = ErrExhausted
	close(g.done)
	g.mu.Unlock()
	if err := <-res; !errors.Is(err, ErrExhausted) {
		t.Errorf("Try waiting when the asking ended: got %v, want ErrExhausted", err)
	}
	if v.opens != 1 {
		t.Errorf("got %d opens, want 1", v.opens)
	}
}

// TestOtherErrorsDoNotCount: an error that is not a wrong passphrase is
// returned as is and uses no try.
func TestOtherErrorsDoNotCount(t *testing.T) {
	missing := errors.New("missing disk")
	g := New(Config{
		Open:  func(context.Context, []byte) error { return missing },
		Wrong: func(err error) bool { return errors.Is(err, errKey) },
		Tries: 1,
		Sleep: func(ctx context.Context, d time.Duration) error { return nil },
	})
	for range 3 {
		a, err := g.Try(context.Background(), "x", []byte("p"))
		if !errors.Is(err, missing) || errors.Is(err, ErrWrong) || a.Left != 1 {
			t.Fatalf("got %v with %d left, want the missing disk error with 1 left", err, a.Left)
		}
	}
}

// TestCheck: a volume opened by another program ends the asking; the
// check never runs while an attempt does.
func TestCheck(t *testing.T) {
	v := &volume{inOpen: make(chan struct{}), rel: make(chan struct{})}
	g := v.gate(3)
	res := make(chan error, 1)
	go func() {
		_, err := g.Try(context.Background(), "console", []byte("wrong"))
		res <- err
	}()
	<-v.inOpen
	ran := false
	check := func(context.Context) (bool, error) { ran = true; return true, nil }
	if ok, err := g.Check(context.Background(), "elsewhere", check); ok || err != nil || ran {
		t.Errorf("Check during an attempt: got %v, %v, ran %v; want false, nil, not run", ok, err, ran)
	}
	close(v.rel)
	<-res
	if ok, err := g.Check(context.Background(), "elsewhere", func(context.Context) (bool, error) { return false, nil }); ok || err != nil {
		t.Errorf("Check of a locked volume: got %v, %v", ok, err)
	}
	if ok, err := g.Check(context.Background(), "elsewhere", check); !ok || err != nil || !g.isDone() || g.Winner() != "elsewhere" {
		t.Errorf("Check of an opened volume: got %v, %v, done %v, winner %q", ok, err, g.isDone(), g.Winner())
	}
	if _, err := g.Try(context.Background(), "ssh", []byte("right")); !errors.Is(err, ErrUnlocked) {
		t.Errorf("Try after Check: got %v, want ErrUnlocked", err)
	}
}
