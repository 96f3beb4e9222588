package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/luks"
	"simplecloud/provision"
)

// newImageCmd is the parent of the image builders.
func newImageCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build images offline",
		Args:  usageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(newImageDataCmd(a))
	return cmd
}

func newImageDataCmd(a *app) *cobra.Command {
	var (
		d               provision.DataImage
		size, keyFile   string
		p               luksPbkdfOpts
		sectorSize      int
		dryRun          bool
		luksLabel, uuid string
	)
	cmd := &cobra.Command{
		Use:   "data OUT.img --size SIZE --from DIR --key-file FILE",
		Short: "Build an encrypted data image (LUKS2 + ext4) from a directory, offline",
		Long: `data writes OUT.img: a LUKS2 container (the header luks format writes,
keyslot 0 opened by the key file) whose payload is an ext4 filesystem
(mke2fs -t ext4 -m 0, as install makes it) holding DIR's files. It needs no
root and no device-mapper: the filesystem is made by mke2fs -d in a sparse
temporary file next to OUT, then encrypted with aes-xts-plain64 in userspace
on all cores into the preallocated image. The temporary file is removed on
every path, also on Ctrl-C; a failed build removes OUT.
Put the image on a disk with dd (dd if=OUT.img of=/dev/sdX bs=4M conv=fsync);
it opens with 'simplecloud luks open' or 'cryptsetup open'.
SIZE is in bytes or with a K, M, G or T suffix (binary), a multiple of 4096.
Exit codes: 64 for a bad command line, a missing DIR or an existing OUT
without --force; 1 for a DIR too big for SIZE, a bad key file or another
failure.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			d.Out = args[0]
			n, err := provision.ParseSize(size)
			if err != nil {
				return usageError{fmt.Errorf("--size: %w", err)}
			}
			if d.Layout, err = provision.PlanDataImage(n, 0, sectorSize); err != nil {
				return usageError{err}
			}
			if keyFile == "" {
				return usageError{errors.New("--key-file is required: the image is built unattended")}
			}
			if err := d.Check(); err != nil {
				return usageError{err}
			}
			kdf, err := p.resolve(a)
			if err != nil {
				return err
			}
			d.Format = luks.FormatOptions{Label: luksLabel, UUID: uuid, PBKDF: kdf}
			if dryRun {
				return imageDataDryRun(a, &d, keyFile)
			}
			pass, err := luksReadKeyFile(a, keyFile)
			if err != nil {
				return err
			}
			defer clear(pass)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			start := time.Now()
			h, err := d.Build(ctx, pass)
			if err != nil {
				// A signal may first show as the death of mke2fs, whose
				// exit status must not become ours.
				if ctx.Err() != nil || errors.Is(err, context.Canceled) {
					return fmt.Errorf("build %s: interrupted", d.Out)
				}
				return fmt.Errorf("build %s: %w", d.Out, err)
			}
			fmt.Fprintf(a.stderr, "Built %s: %d bytes, LUKS2 UUID %s, ext4 of %d bytes from %s (%s).\n",
				d.Out, d.Layout.Size, h.UUID, d.Layout.Payload, d.From, time.Since(start).Round(time.Millisecond))
			a.log.Info("built data image", "image", d.Out, "uuid", h.UUID, "bytes", d.Layout.Size)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&size, "size", "", "image size, e.g. 10G (required)")
	f.StringVar(&d.From, "from", "", "directory whose contents the filesystem holds (required)")
	f.StringVarP(&keyFile, "key-file", "d", "", "read the passphrase from this file, - for stdin (required)")
	f.StringVarP(&d.Label, "fs-label", "L", "simplecloud", "ext4 label")
	f.StringVar(&luksLabel, "label", "", "LUKS2 header label")
	f.StringVar(&uuid, "uuid", "", "UUID of the LUKS2 volume (default: random)")
	f.IntVar(&sectorSize, "sector-size", 4096, "encryption sector size: 512 or 4096")
	f.BoolVarP(&d.Force, "force", "f", false, "overwrite OUT if it exists")
	f.BoolVar(&dryRun, "dry-run", false, dryRunUsage)
	p.register(cmd)
	_ = cmd.MarkFlagRequired("size")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// imageDataDryRun checks the key file and prints the layout the build would write.
func imageDataDryRun(a *app, d *provision.DataImage, keyFile string) error {
	if err := luksCheckKeyFile(a, keyFile); err != nil {
		return err
	}
	l := d.Layout
	fmt.Fprintf(a.stdout, "would write %s (%d bytes, preallocated)\n", d.Out, l.Size)
	fmt.Fprintf(a.stdout, "  bytes 0-%d: LUKS2 header, keyslot 0 from the key file\n", l.DataOffset)
	fmt.Fprintf(a.stdout, "  bytes %d-%d: ext4 (%d blocks of 4096, -m 0) from %s, aes-xts-plain64, %d-byte sectors\n",
		l.DataOffset, l.Size, l.FSBlocks, d.From, l.SectorSize)
	return nil
}
