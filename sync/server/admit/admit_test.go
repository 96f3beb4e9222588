package admit

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func newClock() *clock               { return &clock{time.Unix(1e9, 0)} }
func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func never() float64                 { return 1 }
func addrN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }
func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func refusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// policy is a test policy: 10:30:100 without random drops, a clock.
func policy(cfg Config) (*Policy, *clock) {
	c := newClock()
	if cfg.Startups == (Startups{}) {
		cfg.Startups = Startups{10, 30, 100}
	}
	return New(cfg, c.now, never), c
}

func TestKey(t *testing.T) {
	tests := []struct {
		addr string
		want netip.Prefix
	}{
		{"192.0.2.7", pfx("192.0.2.7/32")},
		{"::ffff:192.0.2.7", pfx("192.0.2.7/32")},
		{"2001:db8:1:2:3:4:5:6", pfx("2001:db8:1:2::/64")},
		{"2001:db8:1:2:ffff::1", pfx("2001:db8:1:2::/64")},
		{"fe80::1%eth0", pfx("fe80::/64")},
	}
	for _, tc := range tests {
		if got := Key(ip(tc.addr)); got != tc.want {
			t.Errorf("Key(%s): got %s, want %s", tc.addr, got, tc.want)
		}
	}
	if got := Key(netip.Addr{}); got.IsValid() {
		t.Errorf("Key of the zero Addr: got %s, want the zero Prefix", got)
	}
}

// TestPerSourceCap checks the cap on one source's unauthenticated
// connections, that other sources are not affected, and that a slot comes
// back when a connection authenticates or ends.
func TestPerSourceCap(t *testing.T) {
	p, _ := policy(Config{Startups: Startups{50, 30, 100}, PerSource: 3})
	a, b := ip("192.0.2.1"), ip("192.0.2.2")
	var conns []*Conn
	for i := range 3 {
		c, err := p.Admit(a)
		if err != nil {
			t.Fatalf("connection %d from a: %v", i, err)
		}
		conns = append(conns, c)
	}
	if _, err := p.Admit(a); err == nil {
		t.Fatal("fourth connection from a: got admitted, want refused")
	} else if r, _ := refusal(err); r.Reason != PerSource || r.Source != pfx("192.0.2.1/32") {
		t.Fatalf("fourth connection from a: got %v, want %v", err, PerSource)
	}
	if _, err := p.Admit(b); err != nil {
		t.Fatalf("b while a is at its cap: %v", err)
	}
	conns[0].Authenticated("alice")
	if _, err := p.Admit(a); err != nil {
		t.Fatalf("a after one authenticated: %v", err)
	}
	conns[1].End(Aborted)
	if _, err := p.Admit(a); err != nil {
		t.Fatalf("a after one ended: %v", err)
	}
	if got := p.Unauthenticated(); got != 4 {
		t.Errorf("unauthenticated: got %d, want 4 (3 from a, 1 from b)", got)
	}
	// IPv6: the cap is per /64.
	for i := range 3 {
		if _, err := p.Admit(ip(fmt.Sprintf("2001:db8::%x", i+1))); err != nil {
			t.Fatalf("IPv6 connection %d: %v", i, err)
		}
	}
	if _, err := p.Admit(ip("2001:db8::ffff:1")); err == nil {
		t.Error("fourth connection from the same /64: got admitted, want refused")
	}
	if _, err := p.Admit(ip("2001:db8:0:1::1")); err != nil {
		t.Errorf("the next /64: %v", err)
	}
}

// TestFull checks that a full server refuses everyone, and that ending a
// connection twice frees one slot only.
func TestFull(t *testing.T) {
	p, _ := policy(Config{Startups: Startups{2, 100, 2}})
	c1, _ := p.Admit(addrN(1))
	if _, err := p.Admit(addrN(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Admit(addrN(3)); err == nil {
		t.Fatal("third connection at 2:100:2: got admitted, want refused")
	} else if r, _ := refusal(err); r.Reason != Full {
		t.Fatalf("third connection: got %v, want %v", err, Full)
	}
	c1.End(Aborted)
	c1.End(Aborted)
	c1.Authenticated("x")
	if got := p.Unauthenticated(); got != 1 {
		t.Errorf("after ending one connection thrice: got %d unauthenticated, want 1", got)
	}
}

// connect admits a connection from addr, applies fails failures for user
// and ends it with how; it fails t when the connection is refused.
func connect(t *testing.T, p *Policy, addr netip.Addr, user string, fails int, how End) Penalty {
	t.Helper()
	c, err := p.Admit(addr)
	if err != nil {
		t.Fatalf("connection from %s: %v", addr, err)
	}
	for range fails {
		c.Failed(user)
	}
	pen, _ := c.End(how)
	return pen
}

// TestPenalties checks that penalties accumulate until they pass Min, that
// the source is then refused until the penalty has run out, that Max caps
// it, and that exempt addresses and other sources are not refused.
func TestPenalties(t *testing.T) {
	pen := DefaultPenalties
	p, clk := policy(Config{Penalties: pen, Exempt: []netip.Prefix{pfx("192.0.2.128/25")}})
	a := ip("192.0.2.1")
	// noauth is 1s, min 15s: 15 quick ones are not enough, the 16th is.
	for i := range 15 {
		if got := connect(t, p, a, "", 0, Closed); got.Kind != NoAuth || got.Activated {
			t.Fatalf("noauth ending %d: got %+v, want a deferred noauth penalty", i+1, got)
		}
	}
	got := connect(t, p, a, "", 0, Closed)
	if !got.Activated || got.Remaining != 16*time.Second {
		t.Fatalf("16th noauth ending: got %+v, want activated with 16s remaining", got)
	}
	_, err := p.Admit(a)
	if r, ok := refusal(err); !ok || r.Reason != Penalised || r.Kind != NoAuth || r.Wait != 16*time.Second {
		t.Fatalf("while penalised: got %v, want a noauth penalty for 16s", err)
	}
	if _, err := p.Admit(ip("192.0.2.2")); err != nil {
		t.Errorf("another source: %v", err)
	}
	// It stays refused below Min, until the penalty has run out.
	clk.add(15 * time.Second)
	if _, err := p.Admit(a); err == nil {
		t.Error("1s before the penalty ends: got admitted, want refused")
	}
	clk.add(time.Second)
	if _, err := p.Admit(a); err != nil {
		t.Errorf("when the penalty has run out: %v", err)
	}

	// The penalty decays in real time: spread out, endings never add up.
	b := ip("192.0.2.3")
	for range 40 {
		connect(t, p, b, "", 0, Closed)
		clk.add(time.Second)
	}
	if _, err := p.Admit(b); err != nil {
		t.Errorf("one noauth a second: %v", err)
	}

	// Each kind adds its own; Max caps the total.
	cases := []struct {
		how   End
		fails int
		kind  Kind
		added time.Duration
	}{
		{Crashed, 0, Crash, 90 * time.Second},
		{TimedOut, 0, Grace, 10 * time.Second},
		{TimedOut, 1, Grace, 10 * time.Second},
		{Closed, 2, AuthFail, 5 * time.Second},
		{Crashed, 1, Crash, 90 * time.Second},
	}
	for i, tc := range cases {
		src := addrN(100 + i)
		got := connect(t, p, src, "u", tc.fails, tc.how)
		if got.Kind != tc.kind || got.Added != tc.added {
			t.Errorf("case %d: got %+v, want %s adding %s", i, got, tc.kind, tc.added)
		}
	}
	c := ip("192.0.2.4")
	var open []*Conn // concurrent connections: their penalties add up
	for i := range 10 {
		cn, err := p.Admit(c)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		open = append(open, cn)
	}
	for _, cn := range open {
		cn.End(Crashed)
	}
	_, err = p.Admit(c)
	if r, ok := refusal(err); !ok || r.Wait != pen.Max {
		t.Errorf("after ten crashes: got %v, want refused for max %s", err, pen.Max)
	}

	// Exempt addresses are never penalised; authenticated connections
	// and the server's own aborts are not either.
	for range 20 {
		connect(t, p, ip("192.0.2.200"), "", 0, Crashed)
	}
	if _, err := p.Admit(ip("192.0.2.200")); err != nil {
		t.Errorf("exempt address after 20 crashes: %v", err)
	}
	d := ip("192.0.2.5")
	for range 20 {
		cn, _ := p.Admit(d)
		cn.Authenticated("alice")
		if pen, ok := cn.End(Crashed); ok {
			t.Fatalf("crash after authentication: got penalty %+v, want none", pen)
		}
		connect(t, p, d, "", 0, Aborted)
	}
	if _, err := p.Admit(d); err != nil {
		t.Errorf("after authenticated crashes and aborts: %v", err)
	}

	off, _ := policy(Config{Penalties: Penalties{Off: true}})
	for range 20 {
		connect(t, off, a, "", 0, Crashed)
	}
	if _, err := off.Admit(a); err != nil {
		t.Errorf("penalties off: %v", err)
	}
}

// TestPenaltyIPv6 checks that a penalty covers the whole /64.
func TestPenaltyIPv6(t *testing.T) {
	p, _ := policy(Config{Penalties: DefaultPenalties})
	connect(t, p, ip("2001:db8::1"), "", 0, Crashed)
	if _, err := p.Admit(ip("2001:db8::abcd:1")); err == nil {
		t.Error("same /64: got admitted, want refused")
	}
	if _, err := p.Admit(ip("2001:db8:0:1::1")); err != nil {
		t.Errorf("next /64: %v", err)
	}
}
