package server

import (
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// reportLog is a reportSink that writes down what it is told.
type reportLog struct{ events []string }

func (r *reportLog) Failed(user string)        { r.events = append(r.events, "fail "+user) }
func (r *reportLog) Authenticated(user string) { r.events = append(r.events, "auth "+user) }

// TestFollow checks how the parent reads a connection child's reports:
// failures and the success carry the user name, and whatever comes after
// the success (from a child that now runs as the user) counts for nothing.
func TestFollow(t *testing.T) {
	f := func(u string) string { return string(report(reportFail, u)) }
	a := func(u string) string { return string(report(reportAuth, u)) }
	long := strings.Repeat("x", 100)
	cases := []struct {
		name, reports string
		want          []string
		timedOut      bool
	}{
		{"nothing", "", nil, false},
		{"one failure", f("bob"), []string{"fail bob"}, false},
		{"failures, then success", f("bob") + f("alice") + a("alice"), []string{"fail bob", "fail alice", "auth alice"}, false},
		{"nothing counts after success", a("alice") + f("bob") + f("bob") + "T", []string{"auth alice"}, false},
		{"timeout", f("bob") + "T", []string{"fail bob"}, true},
		{"empty user", f(""), []string{"fail "}, false},
		{"long name cut", f(long), []string{"fail " + long[:maxReportUser]}, false},
		{"unknown bytes are skipped", "xy" + f("bob"), []string{"fail bob"}, false},
		{"a length past the cap ends the count", "F\x41" + long + f("bob"), nil, false},
		{"cut short", "F\x05bo", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r reportLog
			in := strings.NewReader(tc.reports)
			timedOut := follow(in, &r)
			if !slices.Equal(r.events, tc.want) || timedOut != tc.timedOut {
				t.Errorf("got %q, timed out %v; want %q, %v", r.events, timedOut, tc.want, tc.timedOut)
			}
			if in.Len() != 0 {
				t.Errorf("%d bytes left unread: follow must read to the end", in.Len())
			}
		})
	}
}

// TestCrashed checks which ends of a child count as a crash: a signal the
// parent did not send, or the Go runtime's exit status 2.
func TestCrashed(t *testing.T) {
	cases := []struct {
		script string
		killed bool
		want   bool
	}{
		{"exit 0", false, false},
		{"exit 1", false, false},
		{"exit 2", false, true},
		{"kill -SEGV $$", false, true},
		{"kill -KILL $$", false, true},
		{"kill -KILL $$", true, false},
	}
	for _, tc := range cases {
		cmd := exec.Command("sh", "-c", tc.script)
		c := &child{cmd: cmd}
		c.killed.Store(tc.killed)
		err := cmd.Run()
		if got := c.crashed(err); got != tc.want {
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			t.Errorf("%q (killed by us: %v): got crashed %v, want %v (status %v)", tc.script, tc.killed, got, tc.want, ws)
		}
	}
}
