package admit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Startups limits unauthenticated connections, as sshd's MaxStartups
// "start:rate:full": below Start every connection is taken; from Start on,
// a new one is refused with a chance of Rate percent, rising linearly to
// 100 percent at Full, where every new one is refused.
type Startups struct {
	Start, Rate, Full int
}

// ParseStartups reads "start:rate:full", or one number N, which means
// N:100:N (refuse from N on, as sshd reads it).
func ParseStartups(s string) (Startups, error) {
	f := strings.Split(strings.TrimSpace(s), ":")
	var v [3]int
	if len(f) != 1 && len(f) != 3 {
		return Startups{}, fmt.Errorf("max_startups %q: want start:rate:full or a number", s)
	}
	for i, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil {
			return Startups{}, fmt.Errorf("max_startups %q: want start:rate:full or a number", s)
		}
		v[i] = n
	}
	st := Startups{Start: v[0], Rate: v[1], Full: v[2]}
	if len(f) == 1 {
		st = Startups{Start: v[0], Rate: 100, Full: v[0]}
	}
	return st, st.Check()
}

// Check reports a spec that cannot work.
func (s Startups) Check() error {
	switch {
	case s.Start < 1 || s.Full < s.Start:
		return fmt.Errorf("max_startups %s: want 1 <= start <= full", s)
	case s.Rate < 1 || s.Rate > 100:
		return fmt.Errorf("max_startups %s: want a rate of 1 to 100 (percent)", s)
	}
	return nil
}

// String writes s as "start:rate:full".
func (s Startups) String() string { return fmt.Sprintf("%d:%d:%d", s.Start, s.Rate, s.Full) }

// DropChance is the probability that a new connection is refused when n
// unauthenticated connections are open already.
func (s Startups) DropChance(n int) float64 {
	switch {
	case n >= s.Full:
		return 1
	case n < s.Start:
		return 0
	}
	// Start <= n < Full, so Full > Start.
	frac := float64(n-s.Start) / float64(s.Full-s.Start)
	return (float64(s.Rate) + float64(100-s.Rate)*frac) / 100
}

// Kind is why a source is penalised: how one of its connections ended
// before it authenticated.
type Kind int

// The kinds of penalty, as in sshd's PerSourcePenalties.
const (
	Crash    Kind = iota // the connection's process crashed
	AuthFail             // it ended after failed authentication attempts
	NoAuth               // it ended without authenticating or failing
	Grace                // it ran out of time before authenticating
	nKinds
)

var kindNames = [nKinds]string{"crash", "authfail", "noauth", "grace-exceeded"}

// String is the kind's name in the per_source_penalties spec.
func (k Kind) String() string {
	if k < 0 || k >= nKinds {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Penalties are sshd's PerSourcePenalties: how long each kind of ending
// adds to its source's penalty, the most a source can accumulate (Max),
// and how much it must accumulate before it is refused (Min). A duration
// of 0 turns that kind off.
type Penalties struct {
	Off      bool // no penalties at all
	Duration [nKinds]time.Duration
	Max, Min time.Duration
}

// DefaultPenalties are OpenSSH's defaults.
var DefaultPenalties = Penalties{
	Duration: [nKinds]time.Duration{Crash: 90 * time.Second, AuthFail: 5 * time.Second, NoAuth: time.Second, Grace: 10 * time.Second},
	Max:      10 * time.Minute,
	Min:      15 * time.Second,
}

// ParsePenalties reads a spec like sshd's: space-separated NAME:DURATION
// pairs (crash, authfail, noauth, grace-exceeded, max, min), each changing
// one of DefaultPenalties; "" or "yes" is the defaults and "no" turns
// penalties off.
func ParsePenalties(s string) (Penalties, error) {
	p := DefaultPenalties
	switch strings.TrimSpace(s) {
	case "", "yes":
		return p, nil
	case "no":
		return Penalties{Off: true}, nil
	}
	for _, f := range strings.Fields(s) {
		name, val, ok := strings.Cut(f, ":")
		d, err := time.ParseDuration(val)
		if !ok || err != nil || d < 0 {
			return Penalties{}, fmt.Errorf("per_source_penalties: %q: want NAME:DURATION, e.g. authfail:5s", f)
		}
		switch name {
		case "max":
			p.Max = d
		case "min":
			p.Min = d
		default:
			k := kindOf(name)
			if k < 0 {
				return Penalties{}, fmt.Errorf("per_source_penalties: unknown penalty %q (want crash, authfail, noauth, grace-exceeded, max or min)", name)
			}
			p.Duration[k] = d
		}
	}
	if p.Max < p.Min {
		return Penalties{}, errors.New("per_source_penalties: max is below min")
	}
	return p, nil
}

func kindOf(name string) Kind {
	for k, n := range kindNames {
		if n == name {
			return Kind(k)
		}
	}
	return -1
}

// String writes p in the form ParsePenalties reads.
func (p Penalties) String() string {
	if p.Off {
		return "no"
	}
	var b strings.Builder
	for k, d := range p.Duration {
		fmt.Fprintf(&b, "%s:%s ", Kind(k), d)
	}
	fmt.Fprintf(&b, "max:%s min:%s", p.Max, p.Min)
	return b.String()
}
