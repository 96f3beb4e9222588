package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"simplecloud/internal/askpass"
	"simplecloud/internal/prompt"
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

// agentPrompt asks through systemd's password agents (the console agent,
// a serial console's, wall messages to logged-in users), as
// systemd-cryptsetup does: a service has no terminal of its own.
type agentPrompt struct {
	cfg      *provision.Config
	dir      string    // the agents' directory, askpass.Dir
	deadline time.Time // of all the asking; zero: none
}

func (p *agentPrompt) Passphrase(ctx context.Context, attempt int, last error) ([]byte, error) {
	if !p.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, p.deadline)
		defer cancel()
	}
	msg := fmt.Sprintf("Passphrase for the SimpleCloud data volume %s (%s):", p.cfg.Volume.Name, p.cfg.Volume.Disk)
	if last != nil {
		msg = "No key available with this passphrase. " + msg
	}
	b, err := askpass.Ask(ctx, askpass.Question{Dir: p.dir, Message: msg, Icon: "drive-harddisk",
		ID: "simplecloud:" + p.cfg.Volume.UUID})
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("ask for the passphrase: %w", err)
	}
	return nil, fmt.Errorf("ask for the passphrase: %w: %w", provision.ErrCancelled, err)
}

// consoleAsker is how unlock asks at the console: through systemd's
// password agents when systemd runs and stdin is no terminal (unlock runs
// as a service), else on the terminal or from stdin's lines.
func consoleAsker(a *app, sys *provision.System, cfg *provision.Config, deadline time.Time) provision.Prompter {
	if useAgents(sys.Systemd(), prompt.IsTerminal(a.stdin)) {
		return &agentPrompt{cfg: cfg, dir: askpass.Dir, deadline: deadline}
	}
	return &consolePrompt{a: a, cfg: cfg, deadline: deadline}
}

// useAgents says whether to ask through the password agents.
func useAgents(systemd, terminal bool) bool { return systemd && !terminal }
