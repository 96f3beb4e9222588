package main

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"simplecloud/disk"
	"simplecloud/luks"
	"simplecloud/provision"
	"simplecloud/tui"
)

// tuiBackend connects the installer screens to provision on this machine.
type tuiBackend struct {
	sys   provision.System
	disks []disk.Disk
	cfg   *provision.Config
	st    *provision.State
}

func (b *tuiBackend) Plan(o provision.Options) (*provision.Plan, error) {
	d, ok := disk.Find(b.disks, o.Disk)
	if !ok {
		return nil, fmt.Errorf("install on %s: no such disk", o.Disk)
	}
	return provision.NewPlan(o, *d, b.cfg, b.st)
}

func (b *tuiBackend) RecoveryKey() (string, error) { return luks.NewRecoveryKey() }

func (b *tuiBackend) Install(ctx context.Context, p *provision.Plan, sec provision.Secrets, sink provision.Sink) (*provision.Result, error) {
	in := &provision.Installer{Sys: b.sys, Binary: selfPath()}
	return in.Apply(ctx, p, sec, sink)
}

// runInstallTUI runs the interactive installer on the terminal (stdin and
// stderr), then prints the summary on stdout.
func runInstallTUI(cmd *cobra.Command, a *app, f *installFlags) error {
	o, err := f.options(a)
	if err != nil {
		return err
	}
	sys := installSystem(cmd, a, f)
	ds, err := sys.Discover(cmd.Context())
	if err != nil {
		return err
	}
	cfg, st, err := sys.Previous()
	if err != nil {
		return err
	}
	m := tui.NewInstaller(&tuiBackend{sys: sys, disks: ds, cfg: cfg, st: st}, ds, o)
	p := tea.NewProgram(m, tea.WithInput(a.stdin), tea.WithOutput(a.stderr), tea.WithAltScreen(), tea.WithContext(cmd.Context()))
	if _, err := p.Run(); err != nil {
		return fmt.Errorf("run the installer: %w", err)
	}
	cancelled, res, err := m.Outcome()
	switch {
	case cancelled:
		return errors.New("install cancelled: nothing was written")
	case err != nil:
		return err
	case res == nil:
		return errors.New("install cancelled")
	}
	_, err = fmt.Fprint(a.stdout, res.Summary())
	return err
}
