package main

import (
	"github.com/spf13/cobra"

	"simplecloud/disk"
)

// diskFlags are the guard's flags, shared by disks and wipe.
type diskFlags struct {
	allowRemovable bool
	allowSignature bool
	root           string // a fixture tree standing in for the machine (hidden)
}

func (f *diskFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.allowRemovable, "allow-removable", false, "let removable and USB disks be eligible")
	cmd.Flags().BoolVar(&f.allowSignature, "allow-signature", false, "let disks that carry a filesystem, container or partition table be eligible")
	cmd.Flags().StringVar(&f.root, "root", "/", "read /sys, /proc, /dev and /run below this directory (for tests)")
	_ = cmd.Flags().MarkHidden("root")
}

func (f *diskFlags) policy() disk.Policy {
	return disk.Policy{AllowRemovable: f.allowRemovable, AllowSignature: f.allowSignature}
}

// discover lists the block devices with the guard's verdict, sorted
// eligible first; all includes devices that are not disks.
func (f *diskFlags) discover(cmd *cobra.Command, a *app, all bool) ([]disk.Disk, error) {
	ds, err := disk.Under(f.root, a.log).Discover(cmd.Context())
	if err != nil {
		return nil, err
	}
	disk.Decide(ds, f.policy())
	disk.Sort(ds)
	if all {
		return ds, nil
	}
	out := ds[:0]
	for _, d := range ds {
		if d.IsDisk() {
			out = append(out, d)
		}
	}
	return out, nil
}

func newDisksCmd(a *app) *cobra.Command {
	var (
		flags  diskFlags
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "disks",
		Short: "List the disks and which of them may become the data disk",
		Long: `disks lists the machine's disks, eligible ones first. A disk is eligible
only when nothing uses it: no mounted filesystem in any mount namespace, no
active swap, no part of the running system, no device-mapper, md or loop
device stacked on it, and it opens exclusively. Removable and USB disks, and
disks that carry a filesystem, container or partition table, are eligible
only with --allow-removable and --allow-signature. Every ineligible disk is
listed with every reason.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := flags.discover(cmd, a, all)
			if err != nil {
				return err
			}
			if asJSON {
				return disk.WriteJSON(a.stdout, ds)
			}
			return disk.WriteTable(a.stdout, ds)
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "also list block devices that are not disks (device-mapper, md, zram, optical)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON with every field and reason")
	return cmd
}
