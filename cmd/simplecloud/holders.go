package main

import (
	"github.com/spf13/cobra"

	"simplecloud/disk/holders"
)

// holdersRoots are the scanner's flags: the engine, and hidden ones that
// point it at fake trees.
type holdersRoots struct {
	proc, sys, dev string
	engine         string
}

func (f *holdersRoots) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.proc, "proc", "/proc", "read processes below this directory (for tests)")
	cmd.Flags().StringVar(&f.sys, "sys", "/sys", "read sysfs below this directory (for tests)")
	cmd.Flags().StringVar(&f.dev, "dev", "/dev", "find device nodes below this directory (for tests)")
	for _, n := range []string{"proc", "sys", "dev"} {
		_ = cmd.Flags().MarkHidden(n)
	}
	cmd.Flags().StringVar(&f.engine, "engine", "auto",
		"how to find processes: bpf (kernel iterators), proc (read /proc like fuser), or auto (bpf where the kernel allows it)")
}

func (f *holdersRoots) scanner(a *app) (*holders.Scanner, error) {
	engine, err := holders.ParseEngine(f.engine)
	if err != nil {
		return nil, usageError{err}
	}
	s := holders.NewScanner(a.log.With("component", "holders"))
	s.ProcDir, s.SysDir, s.DevDir, s.Engine = f.proc, f.sys, f.dev, engine
	return s, nil
}

func newHoldersCmd(a *app) *cobra.Command {
	var (
		roots  holdersRoots
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "holders TARGET",
		Short: "Show what keeps a device busy",
		Long: `holders lists everything that keeps a block device busy: processes with an
open file, working directory, root, executable or memory map on it (or on a
device stacked on it), the namespaces they live in when those keep a mount of
it, its mounts in every mount namespace, swap areas, loop devices backed by a
file on it, device-mapper and md devices stacked on it, and kernel users such
as an nfsd export.

TARGET is a device path (/dev/sdb1), a device-mapper name (things), a device
number (253:0) or a mount point (/srv/data).`,
		Example: "  simplecloud holders things\n  simplecloud holders /srv/data --json",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := roots.scanner(a)
			if err != nil {
				return err
			}
			r, err := sc.Scan(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return holders.WriteJSON(a.stdout, r)
			}
			return holders.WriteTable(a.stdout, r)
		},
	}
	roots.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
