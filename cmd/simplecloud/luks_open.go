package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"simplecloud/luks"
	"simplecloud/luks/dm"
)

func newLuksOpenCmd(a *app) *cobra.Command {
	var (
		k                        luksKeyOpts
		slot                     int
		test, discards, readOnly bool
	)
	cmd := &cobra.Command{
		Use:   "open DEVICE [NAME]",
		Short: "Unlock a LUKS volume and map it at /dev/mapper/NAME (cryptsetup open)",
		Long: `open unlocks DEVICE with a key file or a passphrase typed without echo, and
creates the dm-crypt mapping /dev/mapper/NAME. With --test-passphrase it only
checks the passphrase: exit 0 when it is right, 2 when it is wrong, 1 when the
header or device is invalid.`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !test && len(args) != 2 {
				return usageError{errors.New("open needs DEVICE and NAME (or --test-passphrase)")}
			}
			v, err := luksOpenVolume(a, args[0], false)
			if err != nil {
				return err
			}
			defer v.Close()
			vk, s, err := luksUnlock(a, v, k, slot)
			if err != nil {
				return err
			}
			defer clear(vk)
			if test {
				fmt.Fprintf(a.stderr, "Key slot %d unlocked.\n", s)
				return nil
			}
			return luksActivate(a, v, args[1], vk, discards, readOnly)
		},
	}
	f := cmd.Flags()
	k.register(cmd, "read the passphrase from this file (default: prompt)")
	f.IntVar(&k.tries, "tries", 3, "how often to ask for a passphrase")
	f.IntVarP(&slot, "key-slot", "S", luks.AnySlot, "try only this keyslot")
	f.BoolVar(&test, "test-passphrase", false, "only check the passphrase; make no mapping")
	f.BoolVar(&discards, "allow-discards", false, "pass discards (TRIM) to the device")
	f.BoolVarP(&readOnly, "readonly", "r", false, "make a read-only mapping")
	return cmd
}

func luksActivate(a *app, v *luks.Volume, name string, vk []byte, discards, readOnly bool) error {
	if err := dm.ValidName(name); err != nil {
		return usageError{err}
	}
	t, err := v.Header.CryptTarget(v.Dev.Path, v.Dev.Geometry.Size, vk)
	if err != nil {
		return err
	}
	if !v.Dev.IsBlock {
		// An image file: map it through a loop device that goes away with
		// the mapping, as cryptsetup does.
		loop, hold, err := luks.AttachLoop(v.Dev.Path, readOnly)
		if err != nil {
			return err
		}
		defer hold.Close()
		t.Device = loop
	}
	t.AllowDiscards = t.AllowDiscards || discards
	t.ReadOnly = readOnly
	ctl, err := dm.Open()
	if err != nil {
		return fmt.Errorf("open device-mapper: %w", err)
	}
	defer ctl.Close()
	if info, err := ctl.Info(name); err == nil && info.Exists {
		return fmt.Errorf("device %s already exists", name)
	}
	if err := ctl.CreateCrypt(name, luks.DMUUID(v.Header.Version, v.Header.UUID, name), t); err != nil {
		return fmt.Errorf("luksActivate %s: %w", name, err)
	}
	a.log.Info("opened LUKS volume", "device", v.Dev.Path, "name", name)
	return nil
}

func newLuksCloseCmd(a *app) *cobra.Command {
	var deferred, cancel bool
	cmd := &cobra.Command{
		Use:   "close NAME",
		Short: "Remove the mapping /dev/mapper/NAME (cryptsetup close)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if deferred && cancel {
				return usageError{errors.New("--deferred and --cancel-deferred exclude each other")}
			}
			ctl, err := dm.Open()
			if err != nil {
				return fmt.Errorf("open device-mapper: %w", err)
			}
			defer ctl.Close()
			switch {
			case cancel:
				err = ctl.CancelDeferredRemove(name)
			case deferred:
				err = ctl.RemoveDeferred(name)
			default:
				err = ctl.Remove(name)
			}
			switch {
			case errors.Is(err, dm.ErrNotFound):
				return withExitCode(exitInactive, fmt.Errorf("device %s is not active", name))
			case errors.Is(err, dm.ErrBusy):
				return withExitCode(5, fmt.Errorf("device %s is still in use (try --deferred)", name))
			case err != nil:
				return fmt.Errorf("close %s: %w", name, err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&deferred, "deferred", false, "remove the mapping when its last user closes it")
	cmd.Flags().BoolVar(&cancel, "cancel-deferred", false, "cancel a pending deferred remove")
	return cmd
}

func newLuksStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status NAME",
		Short: "Show the state of /dev/mapper/NAME (cryptsetup status)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			ctl, err := dm.Open()
			if err != nil {
				return fmt.Errorf("open device-mapper: %w", err)
			}
			defer ctl.Close()
			info, err := ctl.Info(name)
			if err != nil {
				return fmt.Errorf("status of %s: %w", name, err)
			}
			path := dm.DefaultDir + "/" + name
			if !info.Exists {
				fmt.Fprintf(a.stdout, "%s is inactive.\n", path)
				return withExitCode(exitInactive, fmt.Errorf("%s is inactive", name))
			}
			tbl, err := ctl.Table(name)
			if err != nil {
				return fmt.Errorf("table of %s: %w", name, err)
			}
			return luks.WriteStatus(a.stdout, path, info, tbl, "/sys")
		},
	}
}
