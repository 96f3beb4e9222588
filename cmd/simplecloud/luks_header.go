package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"simplecloud/luks"
)

func newLuksDumpCmd(a *app) *cobra.Command {
	var (
		k                      luksKeyOpts
		asJSON, dumpKey, batch bool
	)
	cmd := &cobra.Command{
		Use:   "dump DEVICE",
		Short: "Show the LUKS header (cryptsetup luksDump)",
		Long: `dump prints the header. --json prints the LUKS2 JSON metadata. --dump-volume-key
prints the volume key in hex after unlocking: anyone with it can read the data
without a passphrase, so it asks for YES unless --batch-mode.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := luksOpenVolume(a, args[0], false)
			if err != nil {
				return err
			}
			defer v.Close()
			if dumpKey {
				return luksDumpKey(a, v, k, batch)
			}
			if asJSON {
				if v.Header.Meta == nil {
					return errors.New("--json: a LUKS1 header has no JSON metadata")
				}
				var out bytes.Buffer
				if err := json.Indent(&out, v.Header.Meta.JSON(), "", "  "); err != nil {
					return err
				}
				out.WriteByte('\n')
				_, err := a.stdout.Write(out.Bytes())
				return err
			}
			return luks.WriteDump(a.stdout, v.Header)
		},
	}
	k.register(cmd, "file with a passphrase (for --dump-volume-key)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the LUKS2 JSON metadata")
	cmd.Flags().BoolVar(&dumpKey, "dump-volume-key", false, "print the volume key (needs a passphrase)")
	cmd.Flags().BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	return cmd
}

func luksDumpKey(a *app, v *luks.Volume, k luksKeyOpts, batch bool) error {
	const warning = "The header dump with volume key is sensitive information\nthat allows access to encrypted partition without a passphrase."
	if batch {
		fmt.Fprintf(a.stderr, "WARNING: %s\n", strings.ReplaceAll(warning, "\n", " "))
	} else if err := luksConfirm(a, batch, warning); err != nil {
		return err
	}
	vk, _, err := luksUnlock(a, v, k, luks.AnySlot)
	if err != nil {
		return err
	}
	defer clear(vk)
	return luks.WriteVolumeKey(a.stdout, v.Header, v.Dev.Path, vk)
}

func newLuksHeaderBackupCmd(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "header-backup DEVICE --header-backup-file FILE",
		Short: "Save the header and keyslots to a file (cryptsetup luksHeaderBackup)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError{errors.New("--header-backup-file is required")}
			}
			v, err := luksOpenVolume(a, args[0], false)
			if err != nil {
				return err
			}
			defer v.Close()
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
			if err != nil {
				return fmt.Errorf("create backup file: %w", err)
			}
			if err := v.Header.Backup(v.Dev, f); err != nil {
				f.Close()
				os.Remove(file)
				return fmt.Errorf("back up header: %w", err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().StringVar(&file, "header-backup-file", "", "backup file (must not exist)")
	return cmd
}

func newLuksHeaderRestoreCmd(a *app) *cobra.Command {
	var (
		file          string
		batch, dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "header-restore DEVICE --header-backup-file FILE",
		Short: "Write a header backup back to the device (cryptsetup luksHeaderRestore)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError{errors.New("--header-backup-file is required")}
			}
			f, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("open backup file: %w", err)
			}
			backup, err := io.ReadAll(io.LimitReader(f, 256<<20))
			f.Close()
			if err != nil {
				return fmt.Errorf("read backup file: %w", err)
			}
			if _, err := luks.PlanRestore(backup, 0); err != nil {
				return err // the backup itself is bad: say so before opening the device
			}
			dev, err := luks.OpenDevice(args[0], true)
			if err != nil {
				return err
			}
			defer dev.Close()
			if err := dev.Lock(true); err != nil {
				return err
			}
			c, err := luks.PlanRestore(backup, dev.Geometry.Size)
			if err != nil {
				return err
			}
			if dryRun {
				c.Notes = append(c.Notes, "backup file "+file)
				return printLuksChange(a, args[0], c)
			}
			warn := "Device " + args[0] + " will be overwritten by the header from " + file + "."
			if err := luksConfirm(a, batch, warn); err != nil {
				return err
			}
			return luks.Restore(dev, backup, dev.Geometry.Size)
		},
	}
	cmd.Flags().StringVar(&file, "header-backup-file", "", "backup file to restore")
	cmd.Flags().BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, dryRunUsage)
	return cmd
}

func newLuksRepairCmd(a *app) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "repair DEVICE",
		Short: "Rewrite a damaged or stale LUKS2 header copy from the good one",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := luksOpenVolume(a, args[0], true)
			if err != nil {
				return err
			}
			defer v.Close()
			if !v.Header.NeedsRepair() {
				fmt.Fprintln(a.stderr, "Both header copies are intact; nothing to repair.")
				return nil
			}
			c, err := v.Header.PlanRepair()
			if err != nil {
				return fmt.Errorf("repair %s: %w", args[0], err)
			}
			if dryRun {
				return printLuksChange(a, args[0], c)
			}
			if err := v.Header.Repair(v.Dev); err != nil {
				return fmt.Errorf("repair %s: %w", args[0], err)
			}
			fmt.Fprintln(a.stderr, "Header repaired.")
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, dryRunUsage)
	return cmd
}
