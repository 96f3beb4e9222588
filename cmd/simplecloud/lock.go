package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/provision"
)

func newLockCmd(a *app) *cobra.Command {
	var (
		config            string
		yes, kill, dryRun bool
		grace             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Unmount and close the data volume (the reverse of unlock)",
		Long: `lock unmounts the data volume and closes its mapping. When something keeps
it busy, it hands over to the busy-device helper (simplecloud close): it shows
what holds the volume and, once confirmed on the terminal or with --yes, stops
those holders (services through systemd, other processes with SIGTERM, then
SIGKILL with --kill), unmounts the volume everywhere and closes it.

--dry-run checks the volume is open, prints what lock would do and, when
something besides its own mount holds it, what close would stop; it changes
nothing.

Exit codes: 0 closed, 1 failure (or still busy), 4 the volume was not open,
64 bad usage (busy, not on a terminal and no --yes).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := provision.LoadConfig(config)
			if err != nil {
				return err
			}
			sys := provision.HostSystem(a.log, nil)
			f := closeFlags{roots: holdersRoots{proc: "/proc", sys: "/sys", dev: "/dev"}, yes: yes, kill: kill, grace: grace}
			if dryRun {
				f.dryRun = true
				return lockDryRun(cmd.Context(), a, &sys, cfg, f)
			}
			msg, err := sys.Lock(cfg)
			var busy *provision.BusyError
			if errors.As(err, &busy) {
				fmt.Fprintf(a.stderr, "%v\nFinding what holds it...\n", err)
				return runClose(cmd.Context(), a, cfg.Volume.Name, f)
			}
			if err != nil {
				return unlockExit(err)
			}
			_, err = fmt.Fprintln(a.stdout, msg)
			return err
		},
	}
	cmd.Flags().StringVar(&config, "config", defaultConfig, "configuration file")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "stop what keeps the volume busy without asking")
	cmd.Flags().BoolVar(&kill, "kill", false, "send SIGKILL to holders still running after the grace time")
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "how long holders get to exit after SIGTERM")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be done and change nothing")
	return cmd
}

// lockDryRun prints the lock plan and, when the volume has holders other
// than its own mount (the lock would find it busy), close's dry run.
func lockDryRun(ctx context.Context, a *app, sys *provision.System, cfg *provision.Config, f closeFlags) error {
	p, err := sys.PlanLock(cfg)
	if err != nil {
		return unlockExit(err)
	}
	fmt.Fprint(a.stdout, p)
	if ctx == nil {
		ctx = context.Background()
	}
	sc, err := f.roots.scanner(a)
	if err != nil {
		return err
	}
	r, err := sc.Scan(ctx, p.Name)
	switch {
	case err != nil:
		fmt.Fprintf(a.stdout, "note: could not find what holds %s: %v\n", p.Mapper, err)
	case r.BusyBesides(p.Mount):
		fmt.Fprintf(a.stdout, "\n%s is held by more than its mount: the lock would find it busy and hand over to close, which would:\n", p.Mapper)
		if err := runClose(ctx, a, p.Name, f); err != nil {
			return err
		}
	default:
		fmt.Fprintln(a.stdout, "Nothing else holds it now.")
	}
	_, err = fmt.Fprintln(a.stdout, "Nothing was changed.")
	return err
}
