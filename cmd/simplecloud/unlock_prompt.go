package main

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	b, err := p.a.ask().PassphraseContext(ctx, fmt.Sprintf("Enter passphrase for %s (%s): ", p.cfg.Volume.Name, p.cfg.Volume.Disk))
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("ask for the passphrase: %w", err)
	}
	return nil, fmt.Errorf("ask for the passphrase: %w: %w", provision.ErrCancelled, err)
}
