package server

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"simplecloud/sync/server/admit"
)

// Startups is max_startups: "start:rate:full" as sshd's MaxStartups, or a
// number N (a TOML integer or string), which means N:100:N.
type Startups struct{ admit.Startups }

// defaultStartups starts dropping at 20, twice the default per-source
// cap, so that one source alone can never make others' connections fail
// at random: it takes at least two sources at their cap.
var defaultStartups = Startups{admit.Startups{Start: 20, Rate: 30, Full: 100}}

// UnmarshalTOML reads a TOML integer or string.
func (s *Startups) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		return s.UnmarshalText([]byte(strconv.FormatInt(v, 10)))
	case string:
		return s.UnmarshalText([]byte(v))
	}
	return fmt.Errorf("max_startups: want \"start:rate:full\" or a number, not %T", v)
}

// UnmarshalText reads "start:rate:full" or a number.
func (s *Startups) UnmarshalText(b []byte) error {
	v, err := admit.ParseStartups(string(b))
	s.Startups = v
	return err
}

// MarshalText writes "start:rate:full" (for the connection child's setup).
func (s Startups) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// admitConfig is the admission policy c (defaults applied) asks for.
func (c Config) admitConfig() (admit.Config, error) {
	c = c.Defaults()
	if err := c.MaxStartups.Check(); err != nil {
		return admit.Config{}, err
	}
	pen, err := admit.ParsePenalties(c.PerSourcePenalties)
	if err != nil {
		return admit.Config{}, err
	}
	var exempt []netip.Prefix
	for _, e := range c.PenaltyExempt {
		p, err := parsePrefix(e)
		if err != nil {
			return admit.Config{}, fmt.Errorf("penalty_exempt: %w", err)
		}
		exempt = append(exempt, p)
	}
	return admit.Config{
		Startups: c.MaxStartups.Startups, PerSource: c.PerSourceMaxStartups, Penalties: pen, Exempt: exempt,
		BackoffAfter: c.BackoffAfter, BackoffMax: c.BackoffMax, BackoffDecay: c.BackoffDecay,
	}, nil
}

// parsePrefix reads a CIDR block or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// newPolicy makes the server's admission policy.
func newPolicy(c Config) (*admit.Policy, error) {
	ac, err := c.admitConfig()
	if err != nil {
		return nil, err
	}
	return admit.New(ac, time.Now, rand.Float64), nil
}

// addrOf is the IP address of a connection's remote end (the zero Addr
// when it has none).
func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// refusalLog logs refused connections, one line each, but at most burst
// lines per window: a flood's further refusals are counted and summed up
// in one line once the window is over, so that a flood cannot fill the
// journal. Safe for concurrent use.
type refusalLog struct {
	log    *slog.Logger
	burst  int
	window time.Duration
	now    func() time.Time
	after  func(time.Duration, func()) // time.AfterFunc, for the summary

	mu      sync.Mutex
	start   time.Time      // of the current window
	logged  int            // lines in it
	dropped map[string]int // refusals not logged in it, per reason
	sources map[netip.Prefix]bool
	pending bool // a summary is scheduled
}

// maxSummarySources bounds the distinct sources a summary counts.
const maxSummarySources = 1024

func newRefusalLog(log *slog.Logger) *refusalLog {
	return &refusalLog{log: log, burst: 20, window: 10 * time.Second, now: time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// refused logs, or counts, the refusal of a connection from addr.
func (l *refusalLog) refused(addr string, err error) {
	reason, src := err.Error(), netip.Prefix{}
	if r, ok := err.(*admit.Refusal); ok {
		reason, src = r.Reason.String(), r.Source
	}
	l.mu.Lock()
	now := l.now()
	if now.Sub(l.start) >= l.window && !l.pending {
		l.start, l.logged = now, 0
	}
	if l.logged < l.burst {
		l.logged++
		l.mu.Unlock()
		l.log.Info("connection refused", "addr", addr, "reason", err.Error())
		return
	}
	if l.dropped == nil {
		l.dropped, l.sources = map[string]int{}, map[netip.Prefix]bool{}
	}
	l.dropped[reason]++
	if len(l.sources) < maxSummarySources {
		l.sources[src] = true
	}
	if !l.pending {
		l.pending = true
		l.after(l.start.Add(l.window).Sub(now), l.summary)
	}
	l.mu.Unlock()
}

// summary logs the refusals counted in the window that ended, and starts
// a new one.
func (l *refusalLog) summary() {
	l.mu.Lock()
	dropped, sources := l.dropped, len(l.sources)
	l.dropped, l.sources, l.pending = nil, nil, false
	l.start, l.logged = l.now(), 0
	l.mu.Unlock()
	n := 0
	args := []any{"sources", sources}
	for _, r := range slices.Sorted(maps.Keys(dropped)) {
		n += dropped[r]
		args = append(args, r, dropped[r])
	}
	if n == 0 {
		return
	}
	l.log.Info(fmt.Sprintf("%d more connections refused in %s (not logged one by one)", n, l.window), args...)
}
