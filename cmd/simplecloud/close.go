package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"simplecloud/disk/holders"
	"simplecloud/internal/prompt"
	"simplecloud/luks/dm"
	"simplecloud/tui"
)

// closeFlags are the options of simplecloud close.
type closeFlags struct {
	roots    holdersRoots
	dryRun   bool
	yes      bool
	kill     bool
	deferred bool
	asJSON   bool
	grace    time.Duration
}

func newCloseCmd(a *app) *cobra.Command {
	var f closeFlags
	cmd := &cobra.Command{
		Use:   "close NAME",
		Short: "Close an encrypted volume, stopping whatever keeps it busy",
		Long: `close removes the mapping /dev/mapper/NAME after freeing it: it stops the
processes that hold it (a systemd service by stopping its unit; any other
process with SIGTERM through a pidfd, then, after --grace, SIGKILL with --kill
or when confirmed), unmounts it in every mount namespace (never lazily), turns
off swap on it, detaches loop devices backed by files on it, removes devices
stacked on it from the top down, and finally removes the mapping.

Nothing is stopped without --yes or a confirmation on the terminal; --dry-run
prints the plan and changes nothing. With --deferred, a mapping that stays
busy is removed by the kernel when its last user goes.`,
		Example: "  simplecloud close things --dry-run\n  simplecloud close things --yes --kill",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := dm.ValidName(args[0]); err != nil {
				return usageError{err}
			}
			return runClose(cmd.Context(), a, args[0], f)
		},
	}
	f.roots.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would be done and change nothing")
	fl.BoolVarP(&f.yes, "yes", "y", false, "do it without asking")
	fl.BoolVar(&f.kill, "kill", false, "send SIGKILL to processes still running after the grace time")
	fl.BoolVar(&f.deferred, "deferred", false, "if the mapping stays busy, have the kernel remove it when its last user goes")
	fl.BoolVar(&f.asJSON, "json", false, "print the holders, the plan and the result as JSON")
	fl.DurationVar(&f.grace, "grace", 10*time.Second, "how long processes get to exit after SIGTERM")
	return cmd
}

// closeOutput is the JSON form of simplecloud close.
type closeOutput struct {
	Holders holders.Report  `json:"holders"`
	Plan    holders.Plan    `json:"plan"`
	Result  *holders.Result `json:"result,omitempty"`
}

func runClose(ctx context.Context, a *app, name string, f closeFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	sc, err := f.roots.scanner(a)
	if err != nil {
		return err
	}
	r, err := sc.Scan(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("close %s: no such mapping: %w", name, err)
	} else if err != nil {
		return fmt.Errorf("find mapping %s: %w", name, err)
	}
	if r.DMName != name {
		return fmt.Errorf("close %s: not a device-mapper mapping (it resolves to %s %s)", name, r.Name, r.Dev)
	}
	ops := holders.NewLinuxOps()
	ops.ProcDir = f.roots.proc
	opts := holders.PlanOptions{Mapping: name, Self: os.Getpid(), Protect: ops.Ancestors(os.Getpid()),
		Kill: f.kill, Deferred: f.deferred, Systemd: holders.SystemdRunning(), Grace: f.grace}
	plan, err := holders.MakePlan(r, opts)
	if err != nil {
		return fmt.Errorf("close %s: %w", name, err) // before the screen asks anything
	}
	interactive := prompt.IsTerminal(a.stdin)
	screen := interactive && !f.yes && !f.dryRun && !f.asJSON && r.Busy()
	if screen {
		// The screen shows the holders live and asks per process.
		m := tui.NewHolders(sc, name, r, f.kill)
		p := tea.NewProgram(m, tea.WithInput(a.stdin), tea.WithOutput(a.stderr), tea.WithAltScreen(), tea.WithContext(ctx))
		if _, err := p.Run(); err != nil {
			return fmt.Errorf("run the holders screen: %w", err)
		}
		proceed, choices, last := m.Outcome()
		if !proceed {
			return errors.New("close cancelled: nothing was stopped")
		}
		r, opts.Choices = last, choices
		if plan, err = holders.MakePlan(r, opts); err != nil {
			return fmt.Errorf("close %s: %w", name, err)
		}
	}
	out := closeOutput{Holders: r, Plan: plan}
	if !f.asJSON {
		if err := holders.WriteTable(a.stdout, r); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "\nplan:")
		holders.WritePlan(a.stdout, plan)
	}
	if f.dryRun {
		if f.asJSON {
			return writeCloseJSON(a.stdout, out)
		}
		return nil
	}
	if !f.yes && !screen && len(plan.Steps) > 1 {
		if !interactive {
			return usageError{fmt.Errorf("close %s: it is busy; refusing to stop its holders without --yes (see the plan with --dry-run)", name)}
		}
		if !a.ask().YesNo("Proceed? [y/N] ") {
			return errors.New("close: not confirmed")
		}
	}
	res, err := applyClose(ctx, a, plan, f, interactive)
	if err != nil {
		return err
	}
	out.Result = &res
	return reportClose(ctx, a, sc, name, f, out)
}

// applyClose carries out the plan with the real system and device-mapper.
func applyClose(ctx context.Context, a *app, plan holders.Plan, f closeFlags, interactive bool) (holders.Result, error) {
	ctl, err := dm.Open()
	if err != nil {
		return holders.Result{}, fmt.Errorf("close: %w", err)
	}
	defer ctl.Close()
	ap := &holders.Applier{Ops: holders.NewLinuxOps(), Mapping: ctl, Log: a.log.With("component", "holders")}
	if interactive && !f.yes {
		ap.ConfirmKill = func(pids []int, cmds []string) bool {
			return a.ask().YesNo(fmt.Sprintf("pids %v (%s) are still running. Send SIGKILL? [y/N] ", pids, strings.Join(cmds, "; ")))
		}
	}
	if !f.asJSON {
		fmt.Fprintln(a.stdout)
		ap.Progress = func(o holders.Outcome) { writeOutcome(a.stdout, o) }
	}
	return ap.Apply(ctx, plan), nil
}

// reportClose prints the result and turns a mapping that is still open
// into an error, listing what still holds it.
func reportClose(ctx context.Context, a *app, sc *holders.Scanner, name string, f closeFlags, out closeOutput) error {
	res := *out.Result
	if f.asJSON {
		if err := writeCloseJSON(a.stdout, out); err != nil {
			return err
		}
	}
	switch {
	case res.MappingGone:
		if !f.asJSON {
			fmt.Fprintf(a.stdout, "%s is closed\n", name)
		}
		return nil
	case res.Deferred:
		if !f.asJSON {
			fmt.Fprintf(a.stdout, "%s will be removed when its last user goes (deferred)\n", name)
		}
		return nil
	}
	if left, err := sc.Scan(ctx, name); err == nil && left.Busy() && !f.asJSON {
		fmt.Fprintln(a.stderr, "still holding it:")
		_ = holders.WriteTable(a.stderr, left)
	}
	return fmt.Errorf("close %s: the mapping is still open", name)
}

func writeOutcome(w io.Writer, o holders.Outcome) {
	status := "ok  "
	if !o.OK {
		status = "FAIL"
	}
	line := status + " " + o.Step.String()
	if o.Detail != "" {
		line += ": " + o.Detail
	}
	if o.Err != "" {
		line += ": " + o.Err
	}
	fmt.Fprintln(w, line)
}

func writeCloseJSON(w io.Writer, out closeOutput) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
