package server

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// strayPipe makes a pipe whose ends are not close-on-exec, as a descriptor
// inherited from outside is, and returns its ends.
func strayPipe(t *testing.T) [2]int {
	t.Helper()
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p
}

// fdFlags returns fd's F_GETFD flags, or -1 when it is closed.
func fdFlags(fd int) int {
	f, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		return -1
	}
	return f
}

func TestCloseOnExec(t *testing.T) {
	for _, tc := range []struct {
		name string
		mark func(p [2]int) error
	}{
		{"close_range", func([2]int) error { return closeOnExecAll("/proc/self/fd") }},
		{"one by one", func(p [2]int) error { return markCloseOnExec("/proc/self/fd", min(p[0], p[1])) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := strayPipe(t)
			if err := tc.mark(p); err != nil {
				t.Fatal(err)
			}
			for _, fd := range p {
				if got := fdFlags(fd); got < 0 || got&unix.FD_CLOEXEC == 0 {
					t.Errorf("descriptor %d: got flags %d, want open and close-on-exec", fd, got)
				}
			}
		})
	}
}

func TestCloseStray(t *testing.T) {
	p := strayPipe(t)
	mine, err := os.Open("/dev/null") // close-on-exec, as all of Go's
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	if err := closeStray("/proc/self/fd", min(p[0], p[1], int(mine.Fd()))); err != nil {
		t.Fatal(err)
	}
	for _, fd := range p {
		if got := fdFlags(fd); got >= 0 {
			t.Errorf("stray descriptor %d: got open (flags %d), want closed", fd, got)
		}
	}
	if got := fdFlags(int(mine.Fd())); got < 0 {
		t.Errorf("close-on-exec descriptor %d: got closed, want open", mine.Fd())
	}
}

// TestLastCap compares lastCap with what the kernel says in /proc.
func TestLastCap(t *testing.T) {
	last, err := lastCap()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip(err)
	}
	var want int
	if _, err := fmt.Sscan(string(b), &want); err != nil || last != want {
		t.Errorf("got last capability %d, want %d (cap_last_cap)", last, want)
	}
}
