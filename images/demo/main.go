// Command demo is `make demo`: it boots a guest kernel under qemu with two
// blank virtual disks (never a real disk) and shows what simplecloud sees
// there. Later stages of the project extend it to a full unattended install.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"simplecloud/images"
	"simplecloud/images/vm"
)

func main() {
	keep := flag.Bool("keep", false, "keep the demo's temp dir (disk images, console log)")
	flag.Parse()
	if err := run(*keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// step is one command shown to the user.
type step struct {
	title string
	argv  []string
}

var steps = []step{
	{"guest kernel", []string{"uname", "-sr"}},
	{"device-mapper", []string{"sh", "-c", "ls -l /dev/mapper/control && grep -E '^(dm_crypt|dm_mod) ' /proc/modules | cut -d' ' -f1"}},
	{"virtual disks (sysfs)", []string{"sh", "-c",
		`for d in /sys/block/vd*; do printf '%s  serial=%s  %s MiB\n' "/dev/${d##*/}" "$(cat $d/serial)" $(( $(cat $d/size) / 2048 )); done; ls -l /dev/disk/by-id/`}},
	{"simplecloud version", []string{"simplecloud", "version"}},
	{"simplecloud disks --all", []string{"simplecloud", "disks", "--all"}},
}

func run(keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	fmt.Println("== preparing the guest: Debian cloud kernel (cached), static simplecloud, initramfs")
	a, err := images.Prepare(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "simplecloud-demo-")
	if err != nil {
		return fmt.Errorf("make temp dir: %w", err)
	}
	if keep {
		fmt.Println("   keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	initrd := filepath.Join(dir, "initrd")
	if err := a.Guest().Build(initrd); err != nil {
		return err
	}
	fmt.Printf("== booting kernel %s under qemu (software emulation) with two blank 1 GiB disks\n", a.Kernel.Version)
	start := time.Now()
	m, err := vm.Start(ctx, vm.Options{
		Kernel: a.Kernel.Image, Initrd: initrd, Dir: dir,
		Disks: []vm.Disk{{Size: 1 << 30, Serial: "DEMO-DATA-1"}, {Size: 1 << 30, Serial: "DEMO-DATA-2"}},
	})
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Printf("   guest up in %v\n", time.Since(start).Round(100*time.Millisecond))
	for _, s := range steps {
		fmt.Printf("\n== %s\n$ %s\n", s.title, strings.Join(s.argv, " "))
		r, err := m.Run(ctx, s.argv...)
		if err != nil {
			return err
		}
		os.Stdout.Write(r.Stdout)
		os.Stdout.Write(r.Stderr)
		if r.Exit != 0 {
			return fmt.Errorf("%s: exit status %d in the guest", strings.Join(s.argv, " "), r.Exit)
		}
	}
	if err := m.Close(); err != nil {
		return err
	}
	fmt.Println("\n== guest stopped; nothing on this machine's disks was touched")
	return nil
}
