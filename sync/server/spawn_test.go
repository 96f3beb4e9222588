package server

import (
	"strings"
	"testing"
	"time"
)

// TestFollow checks how the parent applies a connection child's reports:
// failures count towards the address's back-off until the child reports
// success, which clears it; whatever comes after (from a child that now
// runs as the user) counts for nothing.
func TestFollow(t *testing.T) {
	cases := []struct {
		reports string
		blocked bool
		authed  int
	}{
		{"", false, 0},
		{"F", false, 0},
		{"FF", true, 0},
		{"FFA", false, 1},
		{"AFFFF", false, 1},
		{"FAFFFA", false, 1},
		{"FxyF", true, 0}, // unknown bytes are ignored
	}
	for _, tc := range cases {
		b := newBackoff(2, time.Minute)
		authed := 0
		follow(strings.NewReader(tc.reports), b, "192.0.2.1", func() { authed++ })
		if got := b.blocked("192.0.2.1") > 0; got != tc.blocked || authed != tc.authed {
			t.Errorf("reports %q: got blocked %v, authed %d times; want %v, %d", tc.reports, got, authed, tc.blocked, tc.authed)
		}
		if b.blocked("192.0.2.2") > 0 {
			t.Errorf("reports %q: another address is blocked", tc.reports)
		}
	}
}
