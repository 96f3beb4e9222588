package server

import (
	"sync"
	"time"
)

// backoff counts failed authentications per client address and refuses new
// connections from an address for a while once it has failed too often. The
// wait doubles with every further failure, up to max. Safe for concurrent use.
type backoff struct {
	after int
	base  time.Duration
	max   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	n     int
	until time.Time // refused until then
	last  time.Time
}

func newBackoff(after int, max time.Duration) *backoff {
	return &backoff{after: after, base: time.Second, max: max, now: time.Now, addrs: map[string]*failures{}}
}

// blocked reports how long connections from host are still refused.
func (b *backoff) blocked(host string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.addrs[host]
	if f == nil {
		return 0
	}
	return max(f.until.Sub(b.now()), 0)
}

// fail records a failed attempt from host.
func (b *backoff) fail(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.gc(now)
	f := b.addrs[host]
	if f == nil {
		f = &failures{}
		b.addrs[host] = f
	}
	f.n++
	f.last = now
	if over := f.n - b.after; over >= 0 {
		d := b.base << min(over, 30)
		if d > b.max || d <= 0 {
			d = b.max
		}
		f.until = now.Add(d)
	}
}

// succeed forgets host's failures.
func (b *backoff) succeed(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.addrs, host)
}

// gc forgets addresses that have been quiet for longer than max plus an hour,
// so that the table cannot grow without bound.
func (b *backoff) gc(now time.Time) {
	if len(b.addrs) < 1024 {
		return
	}
	for h, f := range b.addrs {
		if now.Sub(f.last) > b.max+time.Hour {
			delete(b.addrs, h)
		}
	}
}
