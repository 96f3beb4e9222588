// Package earlyterm keeps bubbletea v1's package initialisation from
// querying the terminal. That init asks the terminal for its background
// colour (OSC 11 and a cursor position report) and waits up to 5 seconds for
// an answer, on every run of every command, before main starts; a terminal
// that does not answer (a serial console with nothing attached, script(1),
// an expect-driven session) gets a 5-second stall and stray escape sequences.
//
// It works through Go's initialisation order (Go 1.21 and later): among
// packages whose dependencies are ready, the one first in import path order
// is initialised first. This package is a separate module whose path,
// "earlyterm", sorts before "github.com/charmbracelet/...", and it depends
// only on syscall, so it runs before bubbletea's init. It sets TERM=dumb,
// which termenv takes as "do not query"; main calls Restore first thing, so
// nothing else ever sees the changed TERM and colour detection, which is
// lazy, sees the real one.
package earlyterm

import "syscall"

var (
	orig    string
	hadTerm bool
)

func init() {
	orig, hadTerm = syscall.Getenv("TERM")
	syscall.Setenv("TERM", "dumb")
}

// Restore puts TERM back as it was before this package's init.
func Restore() {
	if hadTerm {
		syscall.Setenv("TERM", orig)
	} else {
		syscall.Unsetenv("TERM")
	}
}
