package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"simplecloud/internal/gate"
	"simplecloud/luks"
	"simplecloud/provision"
	"simplecloud/sync/server"
)

// volumeOpener is the step of unlock --serve that opens the data volume.
// provisionOpener is the real one; host tests pass one that accepts a test
// passphrase (the real open is what the VM unlock tests cover). Open may
// be called from several goroutines, one at a time (the gate sees to it).
type volumeOpener interface {
	// Locked reports whether the volume still needs a passphrase; an open
	// one it checks and mounts when it is not mounted.
	Locked(ctx context.Context) (bool, error)
	// Open tries one passphrase and, when it is right, checks and mounts
	// the volume. A wrong one is an error wrapping luks.ErrWrongKey.
	Open(ctx context.Context, passphrase []byte) error
}

// provisionOpener opens the volume with provision's unlock.
type provisionOpener struct {
	sys *provision.System
	cfg *provision.Config
}

func (o *provisionOpener) Locked(ctx context.Context) (bool, error) {
	closeM, err := o.sys.OpenMapper()
	if err != nil {
		return false, fmt.Errorf("unlock: %w", err)
	}
	info, err := o.sys.Mapper.Info(o.cfg.Volume.Name)
	closeM()
	if err != nil {
		return false, fmt.Errorf("unlock: %w", err)
	}
	if !info.Exists {
		return true, nil
	}
	if _, err := o.sys.Unlock(ctx, o.cfg, nil, nil, 0); !errors.Is(err, provision.ErrAlreadyOpen) {
		return false, err
	}
	return false, nil
}

func (o *provisionOpener) Open(ctx context.Context, passphrase []byte) error {
	_, err := o.sys.Unlock(ctx, o.cfg, nil, onePassphrase(passphrase), 1)
	if errors.Is(err, provision.ErrAlreadyOpen) {
		return nil // opened meanwhile by someone else: it is checked and mounted
	}
	return err
}

// onePassphrase is a provision.Prompter with one answer, a copy each time
// (the unlock zeroes what it is given).
type onePassphrase []byte

func (p onePassphrase) Passphrase(context.Context, int, error) ([]byte, error) {
	return bytes.Clone(p), nil
}

// unlockServe is what unlock --serve needs.
type unlockServe struct {
	cfg     *provision.Config
	config  string // the configuration file, whose [server] table serve reads
	opener  volumeOpener
	console provision.Prompter // the console's prompt; nil: none
	tries   int
	timeout time.Duration
}

// runUnlockServe starts the server; while the volume is locked it offers
// only unlock, to the admin group over SSH, and asks at the console at the
// same time; whichever is right first opens the volume, the other prompt
// stops, and the same server serves files.
func runUnlockServe(ctx context.Context, a *app, o unlockServe) error {
	scfg, err := server.LoadConfig(o.config)
	if err != nil {
		return usageError{err}
	}
	if scfg.Root == "" {
		scfg.Root = o.cfg.Volume.Mount
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	locked, err := o.opener.Locked(ctx)
	if err != nil {
		return unlockExit(err)
	}
	srv, ln, err := listenServer(a, scfg, !locked)
	if err != nil {
		return err
	}
	if locked {
		if ln, err = unlockFirst(ctx, a, o, srv, ln); err != nil {
			ln.Close()
			return unlockExit(err)
		}
		if err := server.CheckRoot(scfg.Root); err != nil {
			ln.Close()
			return err
		}
	}
	return serveReady(ctx, a, srv, ln)
}

// unlockFirst runs the unlock mode and the console prompt until one of
// them unlocks the volume; it returns the listener to serve on.
func unlockFirst(ctx context.Context, a *app, o unlockServe, srv *server.Server, ln net.Listener) (net.Listener, error) {
	g := gate.New(gate.Config{
		Open:  o.opener.Open,
		Wrong: func(err error) bool { return errors.Is(err, luks.ErrWrongKey) },
		Tries: o.tries,
	})
	askCtx := ctx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		askCtx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	group := o.cfg.Unlock.AdminGroup
	if group == "" {
		group = provision.DefaultAdminGroup
	}
	status := fmt.Sprintf("the data volume is locked: asking at the console and over SSH (%s, group %s)", ln.Addr(), group)
	fmt.Fprintln(a.stdout, status)
	if err := server.Notify("STATUS=" + status); err != nil {
		a.log.Warn("sd_notify", "err", err)
	}
	console := make(chan struct{})
	go func() {
		defer close(console)
		if o.console != nil {
			askConsole(askCtx, a, g, o.console)
		}
	}()
	go watchOpened(askCtx, a, g, o.opener)
	next, err := srv.ServeUnlocking(askCtx, ln, server.UnlockMode{
		Gate: g, AdminGroup: group, Volume: fmt.Sprintf("%s (%s)", o.cfg.Volume.Name, o.cfg.Volume.Disk),
	})
	<-console
	switch {
	case errors.Is(err, gate.ErrExhausted):
		return ln, fmt.Errorf("unlock: %w: %w", err, luks.ErrWrongKey)
	case err != nil:
		return ln, fmt.Errorf("unlock: %w", err)
	}
	fmt.Fprintf(a.stdout, "unlocked by %s; serving\n", g.Winner())
	return next, nil
}

// Sources of the attempts, as Winner names them (ssh ones are "ssh KEY
// from ADDR").
const (
	sourceConsole = "the console"
	sourceOther   = "another program"
)

// unlockedElsewhere is what the console says when winner won.
func unlockedElsewhere(winner string) string {
	if strings.HasPrefix(winner, "ssh ") {
		return "The data volume was unlocked remotely."
	}
	return "The data volume was unlocked by " + winner + "."
}

// openedPoll is how often unlock --serve looks whether another program
// (a plain simplecloud unlock, cryptsetup) opened the volume meanwhile.
const openedPoll = 2 * time.Second

// watchOpened ends the asking when the volume was opened by another
// program, until the asking is over.
func watchOpened(ctx context.Context, a *app, g *gate.Gate, o volumeOpener) {
	t := time.NewTicker(openedPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.Done():
			return
		case <-t.C:
		}
		_, err := g.Check(ctx, sourceOther, func(ctx context.Context) (bool, error) {
			locked, err := o.Locked(ctx)
			return !locked && err == nil, err
		})
		if err != nil {
			a.log.Warn("look whether the volume was opened", "err", err)
		}
	}
}

// askConsole asks at the console and tries each passphrase through g until
// one opens the volume or the asking is over; it says so when another
// prompt won.
func askConsole(ctx context.Context, a *app, g *gate.Gate, p provision.Prompter) {
	pctx, cancel := g.Context(ctx)
	defer cancel()
	var last error
	for attempt := 1; ; attempt++ {
		pass, err := p.Passphrase(pctx, attempt, last)
		if err != nil {
			switch {
			case g.Err() == nil && g.Winner() != "":
				fmt.Fprintln(a.stderr, unlockedElsewhere(g.Winner()))
			case ctx.Err() == nil && g.Err() == nil:
				fmt.Fprintf(a.stderr, "No passphrase from the console (%v); waiting for an unlock over SSH.\n", err)
			}
			return
		}
		_, err = g.Try(ctx, sourceConsole, pass)
		clear(pass)
		a.log.Info("console unlock attempt", "ok", err == nil, "err", err)
		switch {
		case err == nil:
			return
		case errors.Is(err, gate.ErrUnlocked):
			fmt.Fprintln(a.stderr, unlockedElsewhere(g.Winner()))
			return
		case errors.Is(err, gate.ErrExhausted):
			fmt.Fprintln(a.stderr, "No key available with this passphrase; no tries left.")
			return
		case errors.Is(err, gate.ErrWrong):
			last = err
		default:
			fmt.Fprintf(a.stderr, "simplecloud: %v\n", err)
			return
		}
	}
}
