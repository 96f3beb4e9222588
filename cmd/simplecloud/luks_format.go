package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"simplecloud/luks"
)

func newLuksFormatCmd(a *app) *cobra.Command {
	var (
		keyFile                        string
		p                              luksPbkdfOpts
		sectorSize, keySize            int
		label, subsystem, uuid, cipher string
		batch, dryRun                  bool
	)
	cmd := &cobra.Command{
		Use:   "format DEVICE",
		Short: "Write a new LUKS2 header (cryptsetup luksFormat)",
		Long: `format writes a new LUKS2 header with cryptsetup's defaults: 16 KiB metadata twice,
a keyslots area up to the data at 16 MiB, aes-xts-plain64 with a 512-bit key,
4096-byte sectors where the device's blocks are 4096 bytes (512 otherwise),
argon2id benchmarked to --iter-time with threads min(4, CPUs) and memory capped
at 1 GiB and at half of MemAvailable, 4000 AF stripes, a pbkdf2-sha256 digest.
All data on DEVICE is lost. Without --batch-mode it asks to type YES.
--dry-run runs the checks (the device must not be in use) and prints the byte
ranges that would be written, without asking or writing.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			kdf, err := p.resolve(a)
			if err != nil {
				return err
			}
			opts := luks.FormatOptions{
				Cipher: cipher, KeyBits: keySize, SectorSize: sectorSize,
				Label: label, Subsystem: subsystem, UUID: uuid, PBKDF: kdf,
			}
			if dryRun {
				return luksFormatDryRun(a, path, keyFile, opts)
			}
			if err := luksConfirm(a, batch, "This will overwrite data on "+path+" irrevocably."); err != nil {
				return err
			}
			pass, err := luksNewPassphrase(a, keyFile, "passphrase for "+path)
			if err != nil {
				return err
			}
			defer clear(pass)
			dev, err := luksFormatOpen(path)
			if err != nil {
				return err
			}
			defer dev.Close()
			opts.Device = dev.Geometry
			h, vk, err := luks.Format(dev, opts, pass)
			if err != nil {
				return fmt.Errorf("format %s: %w", path, err)
			}
			clear(vk)
			fmt.Fprintf(a.stderr, "Formatted %s (%s).\n", path, h.DescribeKeyslot(0))
			a.log.Info("formatted LUKS2 volume", "device", path, "uuid", h.UUID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&keyFile, "key-file", "d", "", "read the passphrase from this file (default: prompt)")
	p.register(cmd)
	f.IntVar(&sectorSize, "sector-size", 0, "encryption sector size: 512 or 4096 (default: from the device)")
	f.IntVarP(&keySize, "key-size", "s", luks.DefaultKeyBits, "volume key size in bits")
	f.StringVarP(&cipher, "cipher", "c", luks.DefaultCipher, "data cipher")
	f.StringVar(&label, "label", "", "header label")
	f.StringVar(&subsystem, "subsystem", "", "header subsystem label")
	f.StringVar(&uuid, "uuid", "", "UUID of the volume (default: random)")
	f.BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	f.BoolVar(&dryRun, "dry-run", false, dryRunUsage)
	return cmd
}

// luksFormatOpen opens path for formatting: for writing, claimed (refused
// while mounted, mapped or claimed) and under the metadata lock.
func luksFormatOpen(path string) (*luks.Device, error) {
	dev, err := luks.OpenDevice(path, true)
	if err != nil {
		return nil, err
	}
	if err := dev.Claim(); err != nil {
		dev.Close()
		return nil, err
	}
	if err := dev.Lock(true); err != nil {
		dev.Close()
		return nil, err
	}
	return dev, nil
}

// luksFormatDryRun runs format's checks on path and prints what it would
// write. The passphrase is not asked for; a key file is read and checked.
func luksFormatDryRun(a *app, path, keyFile string, opts luks.FormatOptions) error {
	if err := luksCheckKeyFile(a, keyFile); err != nil {
		return err
	}
	dev, err := luksFormatOpen(path)
	if err != nil {
		return err
	}
	defer dev.Close()
	opts.Device = dev.Geometry
	c, _, err := luks.PlanFormat(opts)
	if err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	return printLuksChange(a, path, c)
}
