package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"simplecloud/luks"
	"simplecloud/tui"
)

// luksWriteOpen opens DEVICE for a header change and unlocks it.
func luksWriteOpen(a *app, path string, k luksKeyOpts, slot int) (*luks.Volume, []byte, int, error) {
	v, err := luksOpenVolume(a, path, true)
	if err != nil {
		return nil, nil, -1, err
	}
	vk, s, err := luksUnlock(a, v, k, slot)
	if err != nil {
		v.Close()
		return nil, nil, -1, err
	}
	return v, vk, s, nil
}

func newLuksAddKeyCmd(a *app) *cobra.Command {
	var (
		k       luksKeyOpts
		p       luksPbkdfOpts
		newKey  string
		newSlot int
	)
	cmd := &cobra.Command{
		Use:   "add-key DEVICE [NEW_KEY_FILE]",
		Short: "Add a keyslot with a new passphrase (cryptsetup luksAddKey)",
		Args:  usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				newKey = args[1]
			}
			kdf, err := p.resolve(a)
			if err != nil {
				return err
			}
			v, vk, _, err := luksWriteOpen(a, args[0], k, luks.AnySlot)
			if err != nil {
				return err
			}
			defer v.Close()
			defer clear(vk)
			pass, err := luksNewPassphrase(a, newKey, "new passphrase for key slot")
			if err != nil {
				return err
			}
			defer clear(pass)
			s, err := v.Header.AddKeyslot(v.Dev, vk, pass, luks.KeyslotOptions{Slot: newSlot, PBKDF: kdf})
			if err != nil {
				return fmt.Errorf("add key to %s: %w", args[0], err)
			}
			fmt.Fprintf(a.stderr, "Created %s.\n", v.Header.DescribeKeyslot(s))
			return nil
		},
	}
	k.register(cmd, "file with an existing passphrase (default: prompt)")
	cmd.Flags().StringVar(&newKey, "new-key-file", "", "file with the new passphrase (default: prompt)")
	cmd.Flags().IntVarP(&newSlot, "key-slot", "S", luks.AnySlot, "keyslot for the new passphrase (default: lowest free)")
	p.register(cmd)
	return cmd
}

func newLuksRemoveKeyCmd(a *app) *cobra.Command {
	var (
		k             luksKeyOpts
		batch, dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "remove-key DEVICE",
		Short: "Remove the keyslot the given passphrase opens (cryptsetup luksRemoveKey)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, vk, s, err := luksWriteOpen(a, args[0], k, luks.AnySlot)
			if err != nil {
				return err
			}
			defer v.Close()
			clear(vk)
			c, err := v.Header.PlanKillSlot(s)
			if err != nil {
				return fmt.Errorf("remove key slot %d: %w", s, err)
			}
			c.Op = "remove-key"
			if dryRun {
				return printLuksChange(a, args[0], c)
			}
			if len(v.Header.Meta.Keyslots) == 1 {
				if err := luksConfirm(a, batch, "This is the last keyslot. Device will become unusable after purging this key."); err != nil {
					return err
				}
			}
			if err := v.Header.KillSlot(v.Dev, s); err != nil {
				return fmt.Errorf("remove key slot %d: %w", s, err)
			}
			fmt.Fprintf(a.stderr, "Key slot %d removed.\n", s)
			return nil
		},
	}
	k.register(cmd, "file with the passphrase to remove (default: prompt)")
	cmd.Flags().BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, dryRunUsage+" (the passphrase is still checked, to find its keyslot)")
	return cmd
}

func newLuksChangeKeyCmd(a *app) *cobra.Command {
	var (
		k      luksKeyOpts
		p      luksPbkdfOpts
		newKey string
		slot   int
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "change-key DEVICE [NEW_KEY_FILE]",
		Short: "Replace a passphrase, keeping its keyslot (cryptsetup luksChangeKey)",
		Args:  usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				newKey = args[1]
			}
			kdf, err := p.resolve(a)
			if err != nil {
				return err
			}
			v, err := luksOpenVolume(a, args[0], true)
			if err != nil {
				return err
			}
			defer v.Close()
			oldPass, err := luksOldPass(a, k, args[0])
			if err != nil {
				return err
			}
			defer clear(oldPass)
			vk, s, err := luksUnlockWith(v, oldPass, slot)
			if err != nil {
				return err
			}
			clear(vk)
			if dryRun {
				return luksChangeKeyDryRun(a, v, args[0], newKey, s)
			}
			pass, err := luksNewPassphrase(a, newKey, "new passphrase")
			if err != nil {
				return err
			}
			defer clear(pass)
			if err := v.Header.ChangeKey(v.Dev, s, oldPass, pass, kdf); err != nil {
				return fmt.Errorf("change key in slot %d: %w", s, err)
			}
			fmt.Fprintf(a.stderr, "Key slot %d changed.\n", s)
			return nil
		},
	}
	k.register(cmd, "file with the current passphrase (default: prompt)")
	cmd.Flags().StringVar(&newKey, "new-key-file", "", "file with the new passphrase (default: prompt)")
	cmd.Flags().IntVarP(&slot, "key-slot", "S", luks.AnySlot, "keyslot to change (default: the one the passphrase opens)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, dryRunUsage+" (the current passphrase is still checked, to find its keyslot)")
	p.register(cmd)
	return cmd
}

// luksChangeKeyDryRun prints what change-key would write to keyslot s; a
// new key file is read and checked, a new passphrase is not asked for.
func luksChangeKeyDryRun(a *app, v *luks.Volume, path, newKey string, s int) error {
	if err := luksCheckKeyFile(a, newKey); err != nil {
		return err
	}
	c, err := v.Header.PlanChangeKey(s)
	if err != nil {
		return fmt.Errorf("change key in slot %d: %w", s, err)
	}
	return printLuksChange(a, path, c)
}

// luksOldPass reads the current passphrase from the key file or prompts.
func luksOldPass(a *app, k luksKeyOpts, path string) ([]byte, error) {
	if k.keyFile != "" {
		return luksReadKeyFile(a, k.keyFile)
	}
	return a.ask().Passphrase("Enter passphrase to be changed for " + path + ": ")
}

func newLuksKillSlotCmd(a *app) *cobra.Command {
	var (
		k             luksKeyOpts
		batch, dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "kill-slot DEVICE SLOT",
		Short: "Wipe one keyslot (cryptsetup luksKillSlot)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			slot, err := strconv.Atoi(args[1])
			if err != nil || slot < 0 || slot >= luks.MaxKeyslots {
				return usageError{fmt.Errorf("slot %q: want a number from 0 to %d", args[1], luks.MaxKeyslots-1)}
			}
			v, err := luksOpenVolume(a, args[0], true)
			if err != nil {
				return err
			}
			defer v.Close()
			if v.Header.V1 == nil && v.Header.Meta.Keyslots[slot] == nil {
				return fmt.Errorf("keyslot %d is not in use", slot)
			}
			if k.keyFile != "" {
				// Proof of another key, as cryptsetup asks without --batch-mode.
				vk, _, err := luksUnlock(a, v, k, luks.AnySlot)
				if err != nil {
					return err
				}
				clear(vk)
			}
			c, err := v.Header.PlanKillSlot(slot)
			if err != nil {
				return fmt.Errorf("kill slot %d: %w", slot, err)
			}
			if dryRun {
				return printLuksChange(a, args[0], c)
			}
			if k.keyFile == "" {
				if err := luksConfirm(a, batch, fmt.Sprintf("This will wipe key slot %d of %s.", slot, args[0])); err != nil {
					return err
				}
			}
			if err := v.Header.KillSlot(v.Dev, slot); err != nil {
				return fmt.Errorf("kill slot %d: %w", slot, err)
			}
			fmt.Fprintf(a.stderr, "Key slot %d removed.\n", slot)
			return nil
		},
	}
	k.register(cmd, "file with a passphrase of a remaining keyslot")
	cmd.Flags().BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, dryRunUsage)
	return cmd
}

func newLuksRecoveryKeyCmd(a *app) *cobra.Command {
	var (
		k    luksKeyOpts
		p    luksPbkdfOpts
		slot int
		qr   bool
	)
	cmd := &cobra.Command{
		Use:   "recovery-key DEVICE",
		Short: "Add a keyslot with a generated recovery key, printed once",
		Long: `recovery-key adds a keyslot opened by a generated 256-bit recovery key,
written as 64 letters in eight groups (only the letters cbdefghijklnrtuv, easy to
type on any keyboard layout). The key is printed once on stdout: write it down.
With --qr it is also drawn as a QR code for a phone to scan.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			kdf, err := p.resolve(a)
			if err != nil {
				return err
			}
			v, vk, _, err := luksWriteOpen(a, args[0], k, luks.AnySlot)
			if err != nil {
				return err
			}
			defer v.Close()
			defer clear(vk)
			rk, err := luks.NewRecoveryKey()
			if err != nil {
				return err
			}
			s, err := v.Header.AddKeyslot(v.Dev, vk, []byte(rk), luks.KeyslotOptions{Slot: slot, PBKDF: kdf})
			if err != nil {
				return fmt.Errorf("add recovery key: %w", err)
			}
			fmt.Fprintf(a.stderr, "Recovery key added in key slot %d. Write it down; it is not shown again:\n", s)
			fmt.Fprintln(a.stdout, rk)
			if !qr {
				return nil
			}
			code, err := tui.QRCode(rk, tui.QRMedium, 2)
			if err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, code)
			return err
		},
	}
	k.register(cmd, "file with an existing passphrase (default: prompt)")
	cmd.Flags().IntVarP(&slot, "key-slot", "S", luks.AnySlot, "keyslot for the recovery key (default: lowest free)")
	cmd.Flags().BoolVar(&qr, "qr", false, "also show the recovery key as a QR code")
	p.register(cmd)
	return cmd
}

func newLuksEraseCmd(a *app) *cobra.Command {
	var batch, dryRun bool
	cmd := &cobra.Command{
		Use:   "erase DEVICE",
		Short: "Wipe all keyslots; the data becomes unreadable (cryptsetup luksErase)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun {
				if err := luksConfirm(a, batch, "This operation will erase all keyslots on "+args[0]+"."); err != nil {
					return err
				}
			}
			v, err := luksOpenVolume(a, args[0], true)
			if err != nil {
				return err
			}
			defer v.Close()
			if dryRun {
				c, err := v.Header.PlanErase()
				if err != nil {
					return fmt.Errorf("erase %s: %w", args[0], err)
				}
				return printLuksChange(a, args[0], c)
			}
			if err := v.Header.Erase(v.Dev); err != nil {
				return fmt.Errorf("erase %s: %w", args[0], err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, dryRunUsage)
	return cmd
}
