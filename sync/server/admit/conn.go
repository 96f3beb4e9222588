package admit

import (
	"net/netip"
	"time"
)

// End is how a connection ended, as far as the server can tell.
type End int

// The ways a connection ends.
const (
	Closed   End = iota // it ended: the client left, or was refused
	TimedOut            // it ran out of time before authenticating
	Crashed             // its process crashed
	Aborted             // the server ended it (shutdown, no process): no penalty
)

// Conn is one admitted connection. The server tells it what happens to
// the connection; its methods are safe for concurrent use with the
// policy's, not with each other.
type Conn struct {
	p      *Policy
	addr   netip.Addr
	src    netip.Prefix
	failed bool // an authentication attempt failed
	authed bool
	ended  bool
}

// Source is the source the connection counts against.
func (c *Conn) Source() netip.Prefix { return c.src }

// Failed records a failed authentication attempt for user.
func (c *Conn) Failed(user string) {
	if c.authed || c.ended {
		return
	}
	c.failed = true
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.BackoffAfter <= 0 {
		return
	}
	now := p.now()
	r := p.table.make(c.src)
	r.fails.drain(now, p.cfg.BackoffDecay)
	r.fails.add(p.hash(user), p.cfg.MaxUsers)
	if over := r.fails.count() - p.cfg.BackoffAfter; over >= 0 {
		d := p.cfg.BackoffBase << min(over, 30)
		if d > p.cfg.BackoffMax || d <= 0 {
			d = p.cfg.BackoffMax
		}
		if until := now.Add(d); until.After(r.until) {
			r.until = until
		}
	}
}

// Authenticated records that the connection authenticated as user: it no
// longer counts as unauthenticated, and user's failures from its source
// are forgiven (no one else's). Later calls on c do nothing.
func (c *Conn) Authenticated(user string) {
	if c.authed || c.ended {
		return
	}
	c.authed = true
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release(c.src)
	r := p.table.get(c.src)
	if r == nil {
		return
	}
	r.fails.drain(p.now(), p.cfg.BackoffDecay)
	r.fails.clear(p.hash(user))
	if r.fails.count() < p.cfg.BackoffAfter {
		r.until = time.Time{}
	}
}

// Penalty is what ending a connection did to its source.
type Penalty struct {
	Kind      Kind
	Added     time.Duration // the penalty the ending added
	Remaining time.Duration // the source's outstanding penalty
	Activated bool          // the source is refused from now on, until Remaining has passed
}

// End records how the connection ended, stops counting it, and penalises
// its source when it ended before authenticating. It returns the penalty,
// if any.
func (c *Conn) End(how End) (Penalty, bool) {
	if c.ended {
		return Penalty{}, false
	}
	c.ended = true
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.authed || how == Aborted {
		if !c.authed {
			p.release(c.src)
		}
		return Penalty{}, false
	}
	p.release(c.src)
	kind := NoAuth
	switch {
	case how == Crashed:
		kind = Crash
	case how == TimedOut:
		kind = Grace
	case c.failed:
		kind = AuthFail
	}
	return p.penalise(c.addr, c.src, kind)
}

// penalise adds kind's penalty to src, up to Max; more than Min
// outstanding makes it active. Callers hold p.mu.
func (p *Policy) penalise(addr netip.Addr, src netip.Prefix, kind Kind) (Penalty, bool) {
	pen := p.cfg.Penalties
	d := pen.Duration[kind]
	if pen.Off || d <= 0 || p.exempt(addr) {
		return Penalty{}, false
	}
	now := p.now()
	r := p.table.make(src)
	if !now.Before(r.penaltyUntil) {
		r.penaltyUntil, r.active = now, false
	}
	r.penaltyUntil = r.penaltyUntil.Add(d)
	if r.penaltyUntil.Sub(now) > pen.Max {
		r.penaltyUntil = now.Add(pen.Max)
	}
	r.why = kind
	left := r.penaltyUntil.Sub(now)
	activated := !r.active && left > pen.Min
	r.active = r.active || activated
	return Penalty{Kind: kind, Added: d, Remaining: left, Activated: activated}, true
}
