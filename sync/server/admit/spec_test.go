package admit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseStartups(t *testing.T) {
	tests := []struct {
		in      string
		want    Startups
		wantErr string
	}{
		{"10:30:100", Startups{10, 30, 100}, ""},
		{" 20:30:100 ", Startups{20, 30, 100}, ""},
		{"100", Startups{100, 100, 100}, ""},
		{"1:100:1", Startups{1, 100, 1}, ""},
		{"10:30", Startups{}, "start:rate:full"},
		{"a:b:c", Startups{}, "start:rate:full"},
		{"", Startups{}, "start:rate:full"},
		{"0", Startups{}, "start <= full"},
		{"20:30:10", Startups{}, "start <= full"},
		{"10:0:100", Startups{}, "rate"},
		{"10:101:100", Startups{}, "rate"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseStartups(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			if again, err := ParseStartups(got.String()); err != nil || again != got {
				t.Errorf("round trip of %s: got %v, %v", got, again, err)
			}
		})
	}
}

func TestDropChance(t *testing.T) {
	s := Startups{Start: 10, Rate: 30, Full: 100}
	tests := []struct {
		n    int
		want float64
	}{
		{0, 0}, {9, 0}, {10, 0.30}, {55, 0.65}, {99, 0.30 + 0.70*89/90}, {100, 1}, {150, 1},
	}
	for _, tc := range tests {
		if got := s.DropChance(tc.n); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("DropChance(%d): got %v, want %v", tc.n, got, tc.want)
		}
	}
	plain := Startups{Start: 5, Rate: 100, Full: 5}
	if a, b := plain.DropChance(4), plain.DropChance(5); a != 0 || b != 1 {
		t.Errorf("5:100:5 at 4 and 5: got %v, %v; want 0, 1", a, b)
	}
}

// TestEarlyDrop admits connections from many sources with a seeded random
// source and counts the refusals at start, in the middle and at full.
func TestEarlyDrop(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		open int
		want float64 // the share refused
	}{
		{9, 0}, {10, 0.30}, {55, 0.65}, {100, 1},
	}
	for _, tc := range cases {
		draw := func() float64 { return 1 } // never drops while filling up
		p := New(Config{Startups: Startups{10, 30, 100}}, fixedClock(), func() float64 { return draw() })
		for i := range tc.open {
			if _, err := p.Admit(addrN(i)); err != nil {
				t.Fatalf("filling up, connection %d: %v", i, err)
			}
		}
		draw = r.Float64
		const tries = 20000
		refused := 0
		for i := range tries {
			c, err := p.Admit(addrN(1000 + i))
			if err != nil {
				refused++
				continue
			}
			c.End(Aborted) // back to tc.open
		}
		got := float64(refused) / tries
		if math.Abs(got-tc.want) > 0.015 {
			t.Errorf("with %d open: got %.3f refused, want %.2f", tc.open, got, tc.want)
		}
	}
}

func TestParsePenalties(t *testing.T) {
	def := DefaultPenalties
	tests := []struct {
		in      string
		want    func() Penalties
		wantErr string
	}{
		{"", func() Penalties { return def }, ""},
		{"yes", func() Penalties { return def }, ""},
		{"no", func() Penalties { return Penalties{Off: true} }, ""},
		{"crash:90s authfail:5s noauth:1s grace-exceeded:10s max:10m min:15s", func() Penalties { return def }, ""},
		{"noauth:2s min:3s", func() Penalties {
			p := def
			p.Duration[NoAuth], p.Min = 2*time.Second, 3*time.Second
			return p
		}, ""},
		{"authfail:0s", func() Penalties {
			p := def
			p.Duration[AuthFail] = 0
			return p
		}, ""},
		{"crash", nil, "NAME:DURATION"},
		{"crash:soon", nil, "NAME:DURATION"},
		{"crash:-1s", nil, "NAME:DURATION"},
		{"invaliduser:5s", nil, "unknown penalty"},
		{"max:10s min:20s", nil, "max is below min"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePenalties(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if want := tc.want(); err != nil || got != want {
				t.Fatalf("got %v, %v; want %v", got, err, want)
			}
			if again, err := ParsePenalties(got.String()); err != nil || again != got {
				t.Errorf("round trip of %s: got %v, %v", got, again, err)
			}
		})
	}
}

// fixedClock is a clock that stands still.
func fixedClock() func() time.Time {
	t := time.Unix(1e9, 0)
	return func() time.Time { return t }
}
