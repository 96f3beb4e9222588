package admit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// backoffPolicy is a policy with back-off after 3 failures, waits from 1s
// to 1m, one failure forgiven a minute, and no penalties.
func backoffPolicy(maxUsers int) (*Policy, *clock) {
	return policy(Config{Penalties: Penalties{Off: true}, BackoffAfter: 3, BackoffMax: time.Minute, MaxUsers: maxUsers})
}

// wait is how long addr is refused for back-off (0: admitted).
func wait(t *testing.T, p *Policy, addr string) time.Duration {
	t.Helper()
	c, err := p.Admit(ip(addr))
	if err == nil {
		c.End(Aborted)
		return 0
	}
	r, ok := refusal(err)
	if !ok || r.Reason != BackedOff {
		t.Fatalf("%s: got %v, want admitted or backed off", addr, err)
	}
	return r.Wait
}

// TestBackoff checks the doubling wait, its cap, and that failures drain
// over time.
func TestBackoff(t *testing.T) {
	p, clk := backoffPolicy(0)
	a := "192.0.2.1"
	c, _ := p.Admit(ip(a))
	steps := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, want := range steps {
		c.Failed("alice")
		if got := wait(t, p, a); got != want {
			t.Fatalf("after %d failures: got a wait of %v, want %v", i+1, got, want)
		}
	}
	if got := wait(t, p, "192.0.2.2"); got != 0 {
		t.Errorf("another source: got %v, want admitted", got)
	}
	for range 20 {
		c.Failed("alice")
	}
	if got := wait(t, p, a); got != time.Minute {
		t.Errorf("after 26 failures: got %v, want the cap of 1m", got)
	}
	// 26 failures drain in 26 minutes; after 23 three are left.
	clk.add(23 * time.Minute)
	if got := wait(t, p, a); got != 0 {
		t.Errorf("23 minutes later: got %v, want admitted", got)
	}
	c.Failed("alice")
	if got := wait(t, p, a); got != 2*time.Second {
		t.Errorf("one more failure with 3 left: got %v, want 2s", got)
	}
	clk.add(10 * time.Minute)
	c.Failed("alice")
	if got := wait(t, p, a); got != 0 {
		t.Errorf("one failure after everything drained: got %v, want admitted", got)
	}
}

// TestBackoffUsers checks that one user's success clears that user's
// failures only, also when they share the source with someone guessing.
func TestBackoffUsers(t *testing.T) {
	p, _ := backoffPolicy(0)
	a := "192.0.2.1"
	guess, _ := p.Admit(ip(a))
	guess.Failed("bob")
	guess.Failed("bob")
	good, _ := p.Admit(ip(a))
	good.Authenticated("alice")
	guess.Failed("bob")
	if got := wait(t, p, a); got != time.Second {
		t.Fatalf("bob's third failure after alice's success: got %v, want 1s", got)
	}

	// Alice's own failures are hers to clear, and clearing them lifts a
	// wait they alone caused.
	p, _ = backoffPolicy(0)
	c, _ := p.Admit(ip(a))
	c.Failed("bob")
	for range 3 {
		c.Failed("alice")
	}
	if got := wait(t, p, a); got != 2*time.Second {
		t.Fatalf("4 failures: got %v, want 2s", got)
	}
	c.Authenticated("alice") // admitted before the wait began
	if got := wait(t, p, a); got != 0 {
		t.Fatalf("after alice's success, bob's 1 failure left: got %v, want admitted", got)
	}
	c2, _ := p.Admit(ip(a))
	c2.Failed("bob")
	c2.Failed("bob")
	if got := wait(t, p, a); got != time.Second {
		t.Errorf("bob's third failure: got %v, want 1s", got)
	}

	// A success for a name beyond MaxUsers clears nothing: those names
	// share one count.
	p, _ = backoffPolicy(2)
	c, _ = p.Admit(ip(a))
	ok, _ := p.Admit(ip(a)) // before the wait
	for _, u := range []string{"u1", "u2", "u3", "u4", "u4"} {
		c.Failed(u)
	}
	ok.Authenticated("u4")
	if got := wait(t, p, a); got != 4*time.Second {
		t.Errorf("u4's success with u1..u4 pooled beyond 2 names: got %v, want 4s (5 failures)", got)
	}
	ok, _ = p.Admit(ip("192.0.2.9"))
	ok.Authenticated("u1")
	if got := wait(t, p, a); got != 4*time.Second {
		t.Errorf("u1's success from another source: got %v, want 4s", got)
	}
}

// TestBackoffIPv6 checks that failures count per /64.
func TestBackoffIPv6(t *testing.T) {
	p, _ := backoffPolicy(0)
	for i := range 3 {
		c, err := p.Admit(ip(fmt.Sprintf("2001:db8::%d", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		c.Failed("root")
	}
	if got := wait(t, p, "2001:db8::ffff"); got != time.Second {
		t.Errorf("three failures from three addresses of a /64: got %v, want 1s", got)
	}
	if got := wait(t, p, "2001:db8:0:1::1"); got != 0 {
		t.Errorf("the next /64: got %v, want admitted", got)
	}
}

// TestTableLRU checks that a full table forgets the source used least
// recently, and that looking a source up counts as use.
func TestTableLRU(t *testing.T) {
	p, _ := policy(Config{Penalties: DefaultPenalties, MaxSources: 3})
	a, b, c, d := ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3"), ip("192.0.2.4")
	for _, x := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		connect(t, p, ip(x), "", 0, Crashed)
	}
	p.Admit(a) // refused, and a is now the most recently used
	connect(t, p, d, "", 0, Crashed)
	if got := p.table.len(); got != 3 {
		t.Errorf("table size: got %d, want 3", got)
	}
	if _, err := p.Admit(b); err != nil {
		t.Errorf("b, least recently used, should be forgotten: %v", err)
	}
	for name, x := range map[string]netip.Addr{"a": a, "c": c, "d": d} {
		if _, err := p.Admit(x); err == nil {
			t.Errorf("%s: got admitted, want still penalised", name)
		}
	}
}

// TestTableForgetsIdle checks that a record whose penalty and back-off
// have run out is dropped when its source comes back.
func TestTableForgetsIdle(t *testing.T) {
	p, clk := policy(Config{Penalties: DefaultPenalties, BackoffAfter: 3})
	connect(t, p, ip("192.0.2.1"), "bob", 1, Closed)
	if got := p.table.len(); got != 1 {
		t.Fatalf("table size: got %d, want 1", got)
	}
	clk.add(time.Hour)
	c, err := p.Admit(ip("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.table.len(); got != 0 {
		t.Errorf("table size after an hour: got %d, want 0", got)
	}
	c.End(Aborted)
}
