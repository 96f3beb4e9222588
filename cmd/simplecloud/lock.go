package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"simplecloud/disk/holders"
	"simplecloud/provision"
)

func newLockCmd(a *app) *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Unmount and close the data volume (the reverse of unlock)",
		Long: `lock unmounts the data volume and closes its mapping. When something keeps
it busy, it changes nothing and lists what holds it (processes, mounts,
stacked devices); simplecloud close stops those and closes it.

Exit codes: 0 closed, 1 failure or busy, 4 the volume was not open, 64 bad usage.`,
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
				r, serr := holders.NewScanner(a.log).Scan(cmd.Context(), cfg.Volume.Name)
				if serr == nil {
					fmt.Fprintf(a.stderr, "The volume %s is busy:\n", cfg.Volume.Name)
					_ = holders.WriteTable(a.stderr, r)
				}
				return fmt.Errorf("%w; simplecloud close %s stops what holds it and closes it", err, cfg.Volume.Name)
			}
			if err != nil {
				return unlockExit(err)
			}
			_, err = fmt.Fprintln(a.stdout, msg)
			return err
		},
	}
	cmd.Flags().StringVar(&config, "config", defaultConfig, "configuration file")
	return cmd
}
