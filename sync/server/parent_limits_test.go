package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/sync/server/admit"
)

// nopEvents is an authEvents that ignores everything.
type nopEvents struct{}

func (nopEvents) fail(string)    {}
func (nopEvents) succeed(string) {}

// TestLimitsConfig checks the pre-authentication keys: max_startups in
// both forms, the defaults, and what Validate refuses.
func TestLimitsConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, wantErr string
		want                func(admit.Config) bool
	}{
		{"defaults", ``, "", func(c admit.Config) bool {
			return c.Startups == admit.Startups{Start: 20, Rate: 30, Full: 100} && c.PerSource == 10 &&
				c.Penalties == admit.DefaultPenalties && c.BackoffAfter == 10 && c.BackoffDecay == time.Minute
		}},
		{"old integer form", `max_startups = 50`, "", func(c admit.Config) bool {
			return c.Startups == admit.Startups{Start: 50, Rate: 100, Full: 50}
		}},
		{"sshd form", `max_startups = "10:30:60"`, "", func(c admit.Config) bool {
			return c.Startups == admit.Startups{Start: 10, Rate: 30, Full: 60}
		}},
		{"penalties and exemptions", `per_source_penalties = "noauth:2s min:3s"
penalty_exempt = ["192.0.2.0/24", "2001:db8::1", "10.1.2.3"]
per_source_max_startups = 3
backoff_decay = "30s"`, "", func(c admit.Config) bool {
			return c.Penalties.Duration[admit.NoAuth] == 2*time.Second && c.Penalties.Min == 3*time.Second &&
				len(c.Exempt) == 3 && c.Exempt[1] == netip.MustParsePrefix("2001:db8::1/128") &&
				c.Exempt[2] == netip.MustParsePrefix("10.1.2.3/32") && c.PerSource == 3 && c.BackoffDecay == 30*time.Second
		}},
		{"penalties off", `per_source_penalties = "no"`, "", func(c admit.Config) bool { return c.Penalties.Off }},
		{"bad max_startups", `max_startups = "10:30"`, "max_startups", nil},
		{"max_startups start past full", `max_startups = "30:30:10"`, "start <= full", nil},
		{"max_startups of another type", `max_startups = 1.5`, "max_startups", nil},
		{"bad penalty", `per_source_penalties = "crash:forever"`, "per_source_penalties", nil},
		{"bad exemption", `penalty_exempt = ["192.0.2.0/33"]`, "penalty_exempt", nil},
		{"negative cap", `per_source_max_startups = -1`, "per_source_max_startups", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".toml")
			os.WriteFile(p, []byte(tc.body), 0o644)
			c, err := LoadConfig(p)
			if err == nil {
				err = c.Defaults().Validate()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ac, err := c.admitConfig()
			if err != nil || !tc.want(ac) {
				t.Fatalf("got %+v, %v", ac, err)
			}
			// The child gets the configuration as JSON.
			js, err := json.Marshal(c.Defaults())
			if err != nil {
				t.Fatal(err)
			}
			var back Config
			if err := json.Unmarshal(js, &back); err != nil || back.MaxStartups != c.Defaults().MaxStartups {
				t.Errorf("JSON round trip: got %v, %v; want %v", back.MaxStartups, err, c.Defaults().MaxStartups)
			}
		})
	}
}

// TestRefusalLog checks that refusals are logged one by one up to the
// burst, then counted and summed up once when the window ends.
func TestRefusalLog(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1e9, 0)
	var scheduled []func()
	l := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)))
	l.burst, l.now = 3, func() time.Time { return now }
	l.after = func(d time.Duration, f func()) {
		if d != l.window {
			t.Errorf("summary scheduled in %v, want %v (the end of the window)", d, l.window)
		}
		scheduled = append(scheduled, f)
	}
	src := netip.MustParsePrefix("192.0.2.1/32")
	for i := range 1000 {
		reason := admit.PerSource
		if i%2 == 1 {
			reason = admit.Penalised
		}
		l.refused("192.0.2.1:1234", &admit.Refusal{Source: src, Reason: reason, Wait: time.Second})
	}
	if got := strings.Count(buf.String(), "\n"); got != 3 {
		t.Errorf("lines during the flood: got %d, want 3:\n%s", got, buf.String())
	}
	if len(scheduled) != 1 {
		t.Fatalf("summaries scheduled: got %d, want 1", len(scheduled))
	}
	now = now.Add(l.window)
	scheduled[0]()
	last := buf.String()[strings.LastIndex(strings.TrimSpace(buf.String()), "\n")+1:]
	for _, want := range []string{"997 more connections refused", "sources=1", "penalty=499", "per-source=498"} {
		if !strings.Contains(last, want) {
			t.Errorf("summary %q lacks %q", last, want)
		}
	}
	// A new window logs again.
	l.refused("192.0.2.2:1", errors.New("other"))
	if !strings.Contains(buf.String()[len(buf.String())-100:], "addr=192.0.2.2:1") {
		t.Errorf("after the summary: the next refusal is not logged:\n%s", buf.String())
	}
}
