// Package admit decides which new connections an SSH server takes before
// they authenticate, after OpenSSH's MaxStartups, PerSourceMaxStartups,
// PerSourceNetBlockSize and PerSourcePenalties, plus a back-off for failed
// logins. A source is an IPv4 address or an IPv6 /64.
//
// It counts unauthenticated connections, in all and per source, and
// refuses a new one when the server is full, when its source has as many
// as it may, or, between MaxStartups' start and full, at random with a
// rising chance. It penalises a source whose connections end badly (a
// crash, failed authentication, none attempted, the grace time run out):
// a source whose outstanding penalty exceeds Min is refused until the
// penalty has run out. And it counts failed logins per source and user
// name, draining them over time; a source past BackoffAfter is refused for
// a wait that doubles with every further failure, and one user's success
// clears only that user's failures.
//
// The package is pure: time and randomness are handed in, and it makes no
// OS calls. A Policy is safe for concurrent use.
package admit

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Config is a policy's settings. Zero values mean the defaults noted.
type Config struct {
	Startups  Startups       // required
	PerSource int            // unauthenticated connections per source; 0 is no cap
	Penalties Penalties      // see DefaultPenalties
	Exempt    []netip.Prefix // addresses never penalised

	BackoffAfter int           // failures a source may make before it is refused; 0 is no back-off
	BackoffBase  time.Duration // the first wait (default 1s)
	BackoffMax   time.Duration // the longest wait (default 5m)
	BackoffDecay time.Duration // one failure is forgiven per this much time (default 1m)

	MaxSources int // sources remembered (default 65,536)
	MaxUsers   int // user names counted apart per source (default 16)
}

func (c Config) withDefaults() Config {
	def := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.BackoffBase, time.Second)
	def(&c.BackoffMax, 5*time.Minute)
	def(&c.BackoffDecay, time.Minute)
	if c.MaxSources <= 0 {
		c.MaxSources = 65536
	}
	if c.MaxUsers <= 0 {
		c.MaxUsers = 16
	}
	return c
}

// Reason is why a connection is refused.
type Reason int

// The reasons, in the order they are checked.
const (
	Penalised Reason = iota + 1 // the source serves a penalty
	BackedOff                   // the source failed to log in too often
	Full                        // the server has its most unauthenticated connections
	PerSource                   // the source has its most unauthenticated connections
	EarlyDrop                   // dropped at random between start and full
)

var reasonNames = map[Reason]string{
	Penalised: "penalty", BackedOff: "back-off", Full: "full", PerSource: "per-source", EarlyDrop: "early-drop",
}

// String is a short name of r.
func (r Reason) String() string { return reasonNames[r] }

// Refusal is the error Admit returns for a refused connection.
type Refusal struct {
	Source netip.Prefix
	Reason Reason
	Kind   Kind          // for Penalised: the kind of the last penalty
	Wait   time.Duration // for Penalised and BackedOff: how long the source stays refused
}

func (r *Refusal) Error() string {
	switch r.Reason {
	case Penalised:
		return fmt.Sprintf("penalty (%s) for %s", r.Kind, r.Wait.Round(time.Millisecond))
	case BackedOff:
		return fmt.Sprintf("back-off after failed logins, for %s", r.Wait.Round(time.Millisecond))
	case Full:
		return "too many unauthenticated connections"
	case PerSource:
		return "too many unauthenticated connections from the source"
	case EarlyDrop:
		return "random early drop: many unauthenticated connections"
	}
	return "refused"
}

// Key is the source a connection from addr counts against: the address
// itself for IPv4 (also when mapped into IPv6), its /64 for IPv6.
func Key(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := 64
	if addr.Is4() {
		bits = 32
	}
	p, _ := addr.Prefix(bits) // fails only for the zero Addr, whose key is the zero Prefix
	return p
}

// Policy is the admission policy's state. Create it with New.
type Policy struct {
	cfg  Config
	now  func() time.Time
	rand func() float64 // uniform in [0, 1)
	seed maphash.Seed

	mu     sync.Mutex
	unauth int                  // unauthenticated connections
	live   map[netip.Prefix]int // the same per source (never more than Startups.Full keys)
	table  *table
}

// New makes a policy; now is the clock and rand a source of uniform
// numbers in [0, 1) (e.g. rand.Float64), both for tests to fix.
func New(cfg Config, now func() time.Time, rand func() float64) *Policy {
	cfg = cfg.withDefaults()
	return &Policy{cfg: cfg, now: now, rand: rand, seed: maphash.MakeSeed(),
		live: map[netip.Prefix]int{}, table: newTable(cfg.MaxSources)}
}

// Admit decides on a new connection from addr. When it is taken, Admit
// counts it as unauthenticated until its Conn says otherwise; when it is
// refused, the error is a *Refusal.
func (p *Policy) Admit(addr netip.Addr) (*Conn, error) {
	src := Key(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if r := p.table.get(src); r != nil {
		if r.idle(now, p.cfg.BackoffDecay) {
			p.table.remove(src)
		} else {
			if r.active && now.Before(r.penaltyUntil) && !p.exempt(addr) {
				return nil, &Refusal{Source: src, Reason: Penalised, Kind: r.why, Wait: r.penaltyUntil.Sub(now)}
			}
			if now.Before(r.until) {
				return nil, &Refusal{Source: src, Reason: BackedOff, Wait: r.until.Sub(now)}
			}
		}
	}
	st := p.cfg.Startups
	switch {
	case p.unauth >= st.Full:
		return nil, &Refusal{Source: src, Reason: Full}
	case p.cfg.PerSource > 0 && p.live[src] >= p.cfg.PerSource:
		return nil, &Refusal{Source: src, Reason: PerSource}
	case p.unauth >= st.Start && p.rand() < st.DropChance(p.unauth):
		return nil, &Refusal{Source: src, Reason: EarlyDrop}
	}
	p.unauth++
	p.live[src]++
	return &Conn{p: p, addr: addr, src: src}, nil
}

func (p *Policy) exempt(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, e := range p.cfg.Exempt {
		if e.Contains(addr) {
			return true
		}
	}
	return false
}

// Unauthenticated is the number of connections admitted and neither
// authenticated nor ended.
func (p *Policy) Unauthenticated() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unauth
}

// release stops counting src's connection as unauthenticated. Callers
// hold p.mu.
func (p *Policy) release(src netip.Prefix) {
	p.unauth--
	if p.live[src]--; p.live[src] <= 0 {
		delete(p.live, src)
	}
}

func (p *Policy) hash(user string) uint64 { return maphash.String(p.seed, user) }
