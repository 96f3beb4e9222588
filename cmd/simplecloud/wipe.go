package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
	"simplecloud/internal/prompt"
)

func newWipeCmd(a *app) *cobra.Command {
	var (
		flags                       diskFlags
		mode                        string
		verify, yes, asJSON, secure bool
		dryRun                      bool
		offset                      int64
	)
	cmd := &cobra.Command{
		Use:   "wipe DEVICE --mode zero|random|discard|zeroout",
		Short: "Overwrite a disk or an image file",
		Long: `wipe overwrites a disk or an image file. DEVICE is a device path, a
/dev/disk/by-id path or name, or an image file. A disk must be eligible (see
simplecloud disks); wipe asks you to type its by-id name unless --yes.

Modes: zero writes zeroes; random writes an AES-CTR keystream from a fresh
random key; discard issues BLKDISCARD (BLKSECDISCARD with --secure); zeroout
issues BLKZEROOUT. --verify reads everything back and compares. An interrupted
wipe says where it stopped; --offset continues from there. --dry-run runs every
check, prints what would be wiped, how and for about how long, and writes
nothing.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := wipe.ParseMode(mode)
			if err != nil {
				return usageError{err}
			}
			tgt, err := disk.ResolveTarget(args[0], flags.root, func() ([]disk.Disk, error) { return flags.discover(cmd, a, true) })
			if err != nil {
				return err
			}
			t, err := wipe.Open(tgt.Path)
			if err != nil {
				return err
			}
			defer t.Close()
			opts := wipe.Options{Mode: m, Secure: secure, Verify: verify, Offset: offset, Log: a.log}
			plan, err := wipe.NewPlan(t, opts)
			if err != nil {
				return usageError{err}
			}
			if dryRun {
				if err := plan.EstimateOn(t); err != nil {
					return err
				}
				return wipe.WritePlan(a.stdout, tgt.Name, tgt.Summary, plan, asJSON)
			}
			if !yes {
				if err := a.ask().ConfirmName(tgt.Summary, tgt.Name); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := wipe.NewPrinter(a.stdout, a.stderr, prompt.IsTerminal(a.stderr), asJSON)
			opts.Progress = out.Event
			sum, err := wipe.Run(ctx, t, opts)
			if perr := out.Summary(tgt.Name, sum); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&mode, "mode", "", "zero, random, discard or zeroout (required)")
	cmd.Flags().BoolVar(&verify, "verify", false, "read everything back and compare")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for the disk's name")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be wiped and write nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print progress and the summary (or the --dry-run plan) as JSON objects, one per line")
	cmd.Flags().BoolVar(&secure, "secure", false, "with --mode discard: secure discard (BLKSECDISCARD)")
	cmd.Flags().Int64Var(&offset, "offset", 0, "start at this byte offset (resume an interrupted wipe)")
	_ = cmd.MarkFlagRequired("mode")
	return cmd
}
