// Command appliance builds SimpleCloud's appliance image (make image): a
// raw disk image with a GPT, an EFI system partition holding systemd-boot,
// the kernel and the initrd, and an ext4 root with a Debian 12 system made
// by mmdebstrap from Debian's packages and the simplecloud package
// installed. At first boot simplecloud-firstboot@.service runs the
// installer on the console (or unattended, from an answers file).
//
// Boot loader: systemd-boot (Debian's systemd-boot-efi), because it is one
// EFI binary that reads plain-text entries from the ESP and needs no
// configuration built into it; GRUB would need an image made with its
// modules and a search for the root, and the kernel's EFI stub alone
// would need its command line in firmware variables or a unified kernel
// image (ukify is not in bookworm). The kernel and initrd are copied to
// the ESP, which is the one filesystem systemd-boot reads.
//
// Nothing is mounted and no loop device is used: go-diskfs writes the GPT
// and the FAT32 ESP into the image file, and mke2fs -d builds the root
// filesystem from a directory straight into the root partition (-E
// offset=). The same inputs (the base root, cached by its package list in
// ~/.cache/simplecloud, the package and the commit time) give the same
// image: every timestamp is the commit time and every UUID is derived
// from it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	var (
		b               build
		date            int64
		espMiB, rootMiB int64
	)
	flag.StringVar(&b.Deb, "deb", "", "the simplecloud package to install (required)")
	flag.StringVar(&b.Out, "out", "bin/simplecloud-appliance.img", "the image file to write")
	flag.Int64Var(&date, "date", 0, "commit time, in seconds since 1970 (required): timestamps and UUIDs")
	flag.StringVar(&b.Cache, "cache", "", "cache directory (default ~/.cache/simplecloud)")
	flag.Int64Var(&espMiB, "esp-size", 128, "size of the EFI system partition, MiB")
	flag.Int64Var(&rootMiB, "root-size", 1536, "size of the root partition, MiB")
	flag.Parse()
	if b.Deb == "" || date == 0 || flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "usage: go run ./images/appliance -deb simplecloud_V_amd64.deb -date \"$(git log -1 --format=%%ct)\" [-out F]\n")
		os.Exit(64)
	}
	b.Log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "appliance")
	b.Spec = DefaultSpec(time.Unix(date, 0))
	b.Spec.ESPSize, b.Spec.RootSize = espMiB*MiB, rootMiB*MiB
	if err := b.main(); err != nil {
		fmt.Fprintf(os.Stderr, "appliance: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(b.Out)
}

func (b *build) main() error {
	if b.Cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		b.Cache = filepath.Join(home, ".cache", "simplecloud")
	}
	// go-diskfs dates the ESP's files by SOURCE_DATE_EPOCH.
	if err := os.Setenv("SOURCE_DATE_EPOCH", strconv.FormatInt(b.Spec.Epoch.Unix(), 10)); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "simplecloud-appliance-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b.Work = work
	if err := os.MkdirAll(filepath.Dir(b.Out), 0o755); err != nil {
		return err
	}
	return b.run(context.Background())
}
