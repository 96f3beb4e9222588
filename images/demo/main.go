// Command demo is `make demo`: the first-boot story of a SimpleCloud server,
// in a guest kernel under qemu with blank virtual disks (never a real disk).
// First boot: a "system" disk and a blank data disk; simplecloud lists the
// disks, plans and runs an unattended install on the data disk (GPT, LUKS2,
// ext4 with 0 reserved blocks), and cryptsetup and dumpe2fs confirm it.
// Second boot on the same disk images: the unlock prompt on the
// console refuses a wrong passphrase, accepts the right one, and the file
// written before the reboot is there; then a user of the machine (a line in
// /etc/passwd and her key, nothing else) reaches the server started on the
// volume with OpenSSH's sftp from this machine, through a port qemu forwards
// to 127.0.0.1, and the file lands on the volume as hers.
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
	keep := flag.Bool("keep", false, "keep the demo's temp dir (disk images, console logs)")
	flag.Parse()
	if err := run(*keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// The demo's passphrase is typed on the guest console and written to a key
// file inside the guest only.
const passphrase = "demo passphrase"

// guestPrograms are e2fsprogs and cryptsetup, which install uses (mke2fs,
// dumpe2fs, e2fsck) or the demo shows as an independent check.
var guestPrograms = []string{"cryptsetup", "mke2fs", "dumpe2fs", "e2fsck"}

// mountSystem mounts the "system" disk and keeps /etc/simplecloud on it, as
// an installed server would.
const mountSystem = `mkdir -p /sysroot /etc/simplecloud && mount /dev/vda /sysroot &&
mkdir -p /sysroot/etc/simplecloud && mount --bind /sysroot/etc/simplecloud /etc/simplecloud`

var firstBoot = []step{
	{"the system disk (stands in for the server's root disk)", "/usr/sbin/mke2fs -q -t ext4 /dev/vda && " + mountSystem + " && echo mounted /dev/vda on /sysroot"},
	{"what simplecloud sees", "simplecloud disks --all"},
	{"the plan, touching nothing", "printf '" + passphrase + "' > /tmp/key && simplecloud install --disk virtio-DEMO-DATA --key-file /tmp/key --dry-run"},
	{"unattended install", "simplecloud install --disk virtio-DEMO-DATA --key-file /tmp/key --yes --wipe zero " +
		"--pbkdf pbkdf2 --pbkdf-force-iterations 100000 --recovery-key /sysroot/recovery.txt"},
	{"cryptsetup's view of the container", "cryptsetup luksDump /dev/vdb1 | head -14"},
	{"ext4 inside, 0 reserved blocks", "dumpe2fs -h /dev/mapper/simplecloud 2>/dev/null | grep -E 'volume name|Block count|Reserved block count'"},
	{"the only configuration file", "cat /etc/simplecloud/simplecloud.toml"},
	{"a file on the volume, then lock", "echo 'hello from before the reboot' > /srv/simplecloud/hello && simplecloud lock && ls /dev/mapper"},
}

var afterUnlock = []step{
	{"the volume after unlock", "grep simplecloud /proc/mounts && cat /srv/simplecloud/hello"},
}

// servePort is where the guest's server listens; the demo forwards it to a
// port on the host's 127.0.0.1.
const servePort = 2222

// addUser makes the machine's user alice (a system account, no app
// account) with the demo's key, and starts the server on the volume.
func addUser(pubKey string) []step {
	return []step{
		{"a user of the machine, with her key (no app accounts: /etc/passwd is the list)",
			"echo 'alice:x:1000:1000:Alice:/home/alice:/bin/sh' >> /etc/passwd && echo 'alice:x:1000:' >> /etc/group && " +
				"printf 'root:*:20000:0:99999:7:::\\nalice:*:20000:0:99999:7:::\\n' > /etc/shadow && chmod 600 /etc/shadow && " +
				"mkdir -p /home/alice/.ssh && echo '" + pubKey + "' > /home/alice/.ssh/authorized_keys && " +
				"chown -R 1000:1000 /home/alice && chmod 700 /home/alice/.ssh && tail -1 /etc/passwd"},
		{"the SSH server, on the unlocked volume",
			fmt.Sprintf("simplecloud serve --config /etc/simplecloud/simplecloud.toml --root /srv/simplecloud --listen :%d > /tmp/serve.log 2>&1 & ", servePort) +
				"for i in $(seq 100); do grep -q 'listening on' /tmp/serve.log && break; sleep 0.2; done; cat /tmp/serve.log"},
	}
}

var beforeClose = []step{
	{"alice's files on the server, as the kernel sees them", "ls -ln /srv/simplecloud/alice"},
	{"holders of the busy volume, then close", "(cd /srv/simplecloud && exec sleep 600) & sleep 0.5; simplecloud holders /srv/simplecloud; simplecloud lock --yes --kill"},
}

func run(keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	say("preparing the guest: Debian cloud kernel (cached), static simplecloud, initramfs")
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
	g := a.Guest()
	g.Programs = guestPrograms
	initrd := filepath.Join(dir, "initrd")
	if err := g.Build(initrd); err != nil {
		return err
	}
	opts := vm.Options{
		Kernel: a.Kernel.Image, Initrd: initrd,
		Forward: []int{servePort},
		Disks: []vm.Disk{
			{Path: filepath.Join(dir, "system.img"), Size: 64 << 20, Serial: "DEMO-SYSTEM"},
			{Path: filepath.Join(dir, "data.img"), Size: 256 << 20, Serial: "DEMO-DATA"},
		},
	}

	say("first boot: kernel %s under qemu (software emulation), a system disk and a blank data disk", a.Kernel.Version)
	m, err := boot(ctx, opts, filepath.Join(dir, "boot1"))
	if err != nil {
		return err
	}
	defer m.Close()
	if err := runSteps(ctx, m, firstBoot); err != nil {
		return err
	}
	if err := m.Close(); err != nil {
		return err
	}

	say("second boot on the same disk images: unlock at the console")
	m2, err := boot(ctx, opts, filepath.Join(dir, "boot2"))
	if err != nil {
		return err
	}
	defer m2.Close()
	if err := runSteps(ctx, m2, []step{{"mount the system disk again", mountSystem}}); err != nil {
		return err
	}
	if err := unlockOnConsole(ctx, m2); err != nil {
		return err
	}
	if err := runSteps(ctx, m2, afterUnlock); err != nil {
		return err
	}
	if err := serveDemo(ctx, m2, dir, a.Simplecloud); err != nil {
		return err
	}
	if err := runSteps(ctx, m2, beforeClose); err != nil {
		return err
	}
	if err := m2.Close(); err != nil {
		return err
	}
	say("done: guests stopped; nothing on this machine's disks was touched")
	return nil
}

func boot(ctx context.Context, opts vm.Options, dir string) (*vm.Machine, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make %s: %w", dir, err)
	}
	opts.Dir = dir
	start := time.Now()
	m, err := vm.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	fmt.Printf("   guest up in %v\n", time.Since(start).Round(100*time.Millisecond))
	return m, nil
}

// step is one shell command shown to the user with its output.
type step struct {
	title  string
	script string
}

func runSteps(ctx context.Context, m *vm.Machine, steps []step) error {
	for _, s := range steps {
		fmt.Printf("\n--- %s\n$ %s\n", s.title, s.script)
		r, err := m.Run(ctx, "sh", "-c", "exec 2>&1\n"+s.script) // keep stderr in order
		if err != nil {
			return err
		}
		os.Stdout.Write(r.Stdout)
		os.Stdout.Write(r.Stderr)
		if r.Exit != 0 {
			return fmt.Errorf("%q: exit status %d in the guest", s.script, r.Exit)
		}
	}
	return nil
}

// unlockOnConsole runs `simplecloud unlock` on the guest's console
// and types a wrong passphrase, then the right one, showing the console.
func unlockOnConsole(ctx context.Context, m *vm.Machine) error {
	fmt.Printf("\n--- the unlock prompt on the console (typed: a wrong passphrase, then the right one)\n")
	before := len(m.Console())
	p, err := m.StartCmd(vm.Cmd{Console: true, Argv: []string{"simplecloud", "unlock"}})
	if err != nil {
		return err
	}
	for _, s := range []struct{ expect, send string }{
		{"Enter passphrase for simplecloud", "not the passphrase"},
		{"No key available with this passphrase.", ""},
		{"Enter passphrase for simplecloud", passphrase},
		{"Unlocked", ""},
	} {
		if err := m.Expect(ctx, s.expect); err != nil {
			return err
		}
		if s.send != "" {
			if err := m.SendLine(s.send); err != nil {
				return err
			}
		}
	}
	r, err := p.Wait(ctx)
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(m.Console()[before:]))
	if r.Exit != 0 {
		return fmt.Errorf("simplecloud unlock: exit status %d", r.Exit)
	}
	return nil
}

func say(format string, args ...any) {
	fmt.Printf("\n== "+format+"\n", args...)
}
