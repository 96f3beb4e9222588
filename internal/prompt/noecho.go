package prompt

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// noEcho turns echo off when r is a terminal, keeping line editing and
// signals and turning a carriage return into a newline as a console sends
// it; it returns the function that restores the terminal. Anything else is
// left alone. (term.ReadPassword sets the same modes, but restores them only
// when its read returns, which a deadline cannot wait for.)
func noEcho(r any) (func(), error) {
	fd, ok := terminalFd(r)
	if !ok {
		return func() {}, nil
	}
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("turn off echo: %w", err)
	}
	t := *old
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, fmt.Errorf("turn off echo: %w", err)
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
