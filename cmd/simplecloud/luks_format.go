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
		batch                          bool
	)
	cmd := &cobra.Command{
		Use:   "format DEVICE",
		Short: "Write a new LUKS2 header (cryptsetup luksFormat)",
		Long: `format writes a new LUKS2 header with cryptsetup's defaults: 16 KiB metadata twice,
a keyslots area up to the data at 16 MiB, aes-xts-plain64 with a 512-bit key,
4096-byte sectors where the device's blocks are 4096 bytes (512 otherwise),
argon2id benchmarked to --iter-time with threads min(4, CPUs) and memory capped
at 1 GiB and at half of MemAvailable, 4000 AF stripes, a pbkdf2-sha256 digest.
All data on DEVICE is lost. Without --batch-mode it asks to type YES.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			kdf, err := p.resolve(a)
			if err != nil {
				return err
			}
			if err := luksConfirm(a, batch, "This will overwrite data on "+path+" irrevocably."); err != nil {
				return err
			}
			pass, err := luksNewPassphrase(a, keyFile, "passphrase for "+path)
			if err != nil {
				return err
			}
			defer clear(pass)
			dev, err := luks.OpenDevice(path, true)
			if err != nil {
				return err
			}
			defer dev.Close()
			if err := dev.Claim(); err != nil {
				return err
			}
			if err := dev.Lock(true); err != nil {
				return err
			}
			h, vk, err := luks.Format(dev, luks.FormatOptions{
				Cipher: cipher, KeyBits: keySize, SectorSize: sectorSize,
				Label: label, Subsystem: subsystem, UUID: uuid,
				Device: dev.Geometry, PBKDF: kdf,
			}, pass)
			if err != nil {
				return fmt.Errorf("format %s: %w", path, err)
			}
			clear(vk)
			fmt.Fprintf(a.stderr, "Formatted %s (%s).\n", path, luksDescribeSlot(h, 0))
			a.log.Info("formatted LUKS2 volume", "device", path, "uuid", h.UUID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&keyFile, "key-file", "d", "", "read the passphrase from this file (default: luksPrompt)")
	p.register(cmd)
	f.IntVar(&sectorSize, "sector-size", 0, "encryption sector size: 512 or 4096 (default: from the device)")
	f.IntVarP(&keySize, "key-size", "s", luks.DefaultKeyBits, "volume key size in bits")
	f.StringVarP(&cipher, "cipher", "c", luks.DefaultCipher, "data cipher")
	f.StringVar(&label, "label", "", "header label")
	f.StringVar(&subsystem, "subsystem", "", "header subsystem label")
	f.StringVar(&uuid, "uuid", "", "UUID of the volume (default: random)")
	f.BoolVarP(&batch, "batch-mode", "q", false, "do not ask for confirmation")
	return cmd
}
