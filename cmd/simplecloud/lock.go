package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/provision"
)

func newLockCmd(a *app) *cobra.Command {
	var (
		config    string
		yes, kill bool
		grace     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Unmount and close the data volume (the reverse of unlock)",
		Long: `lock unmounts the data volume and closes its mapping. When something keeps
it busy, it hands over to the busy-device helper (simplecloud close): it shows
what holds the volume and, once confirmed on the terminal or with --yes, stops
those holders (services through systemd, other processes with SIGTERM, then
SIGKILL with --kill), unmounts the volume everywhere and closes it.

Exit codes: 0 closed, 1 failure (or still busy), 4 the volume was not open,
64 bad usage (busy, not on a terminal and no --yes).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := provision.LoadConfig(config)
			if err != nil {
				return err
			}
			sys := provision.HostSystem(a.log, nil)
			msg, err := sys.Lock(cfg)
			var busy *provision.BusyError
			if errors.As(err, &busy) {
				fmt.Fprintf(a.stderr, "%v\nFinding what holds it...\n", err)
				f := closeFlags{roots: holdersRoots{proc: "/proc", sys: "/sys", dev: "/dev"}, yes: yes, kill: kill, grace: grace}
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
	return cmd
}
