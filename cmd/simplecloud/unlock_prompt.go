package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/provision"
)

// consolePrompt asks for the passphrase on the terminal without echo, or
// reads lines from stdin when it is not a terminal.
type consolePrompt struct {
	a        *app
	cfg      *provision.Config
	deadline time.Time // of all the asking; zero: none
}

func (p *consolePrompt) Passphrase(ctx context.Context, attempt int, last error) ([]byte, error) {
	if last != nil {
		fmt.Fprintln(p.a.stderr, "No key available with this passphrase.")
	}
	if !p.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, p.deadline)
		defer cancel()
	}
	prompt := fmt.Sprintf("Enter passphrase for %s (%s): ", p.cfg.Volume.Name, p.cfg.Volume.Disk)
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1)
	f, isFile := p.a.stdin.(*os.File)
	restore, err := noEcho(f, isFile)
	if err != nil {
		return nil, err
	}
	defer restore()
	// Echo is off before the prompt shows, so nothing typed right after it
	// appears on the screen.
	fmt.Fprint(p.a.stderr, prompt)
	go func() {
		b, err := luksReadLine(p.a.stdin)
		if err != nil && len(b) > 0 {
			err = nil
		}
		ch <- answer{b, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(p.a.stderr)
		return nil, fmt.Errorf("ask for the passphrase: %w", ctx.Err())
	case ans := <-ch:
		fmt.Fprintln(p.a.stderr)
		if ans.err != nil {
			clear(ans.b)
			return nil, fmt.Errorf("ask for the passphrase: %w: %w", provision.ErrCancelled, ans.err)
		}
		return ans.b, nil
	}
}

// noEcho turns echo off on a terminal, keeping line editing and turning a
// carriage return into a newline as a console sends it; it returns the
// function that restores the terminal. Anything else is left alone.
func noEcho(f *os.File, isFile bool) (func(), error) {
	if !isFile {
		return func() {}, nil
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}, nil // not a terminal
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
