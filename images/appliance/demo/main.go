// Command demo is `make demo-appliance`: the appliance image's story under
// qemu (software emulation, UEFI firmware), on a copy of the image and a
// blank virtual data disk (never a real disk). First boot: the installer
// runs unattended from an answers file on the ESP, makes the encrypted data
// volume and starts the server. Second boot: the console asks for the
// passphrase, and at the same time the SSH server offers the unlock to the
// admin group; alice, a user of the machine in group sudo, unlocks it from
// this machine with simplecloud unlock --remote through the port qemu
// forwards, and uploads a file with OpenSSH's sftp on the same port.
//
// It drives the machine with images/appliance/machine, as the VM test
// does. Without an answers file the first boot shows the installer's TUI
// on the screen and the serial console instead.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"simplecloud/images/appliance/machine"
)

// The demo's passphrase and root password, for its copy of the image only.
const (
	passphrase   = "demo passphrase"
	rootPassword = "demo root"
)

func main() {
	image := flag.String("image", "bin/simplecloud-appliance.img", "the appliance image (make image)")
	bin := flag.String("simplecloud", "bin/simplecloud", "the simplecloud binary, for unlock --remote")
	keep := flag.Bool("keep", false, "keep the demo's temp dir (disks, console logs)")
	flag.Parse()
	if err := run(*image, *bin, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo-appliance: %v\n", err)
		os.Exit(1)
	}
}

func run(image, bin string, keep bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	for _, f := range []string{image, bin} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w (make image builds it)", err)
		}
	}
	dir, err := os.MkdirTemp("", "simplecloud-demo-appliance-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("   keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	port, err := machine.FreePort()
	if err != nil {
		return err
	}
	say("the machine: a copy of %s, a blank 1 GiB data disk, the server's port 2222 on 127.0.0.1:%d", image, port)
	d, err := machine.NewDisks(dir, image, 1<<30)
	if err != nil {
		return err
	}
	alice, pub, err := machine.NewClient(dir, "alice", port, bin)
	if err != nil {
		return err
	}
	if err := d.AddUsers([]machine.User{{Name: "alice", Groups: []string{"sudo"}, PublicKey: pub}}, rootPassword); err != nil {
		return err
	}
	fmt.Printf("   user alice (group sudo, the default unlock admin group) with a key made for the demo: %s\n", alice.Key)
	if err := d.Answers(passphrase); err != nil {
		return err
	}
	fmt.Println("   an answers file on the ESP (/simplecloud/answers.toml): install on virtio-data0, unattended")
	if err := firstBoot(d, dir, port); err != nil {
		return err
	}
	if err := secondBoot(d, dir, port, alice); err != nil {
		return err
	}
	say("done: the machine is off; nothing on this machine's disks was touched")
	return nil
}

// firstBoot installs and reboots.
func firstBoot(d machine.Disks, dir string, port int) error {
	say("first boot: UEFI firmware, systemd-boot, Debian 12; the first-boot installer on the consoles")
	m, err := start(d, dir, port, "console-1.log")
	if err != nil {
		return err
	}
	defer m.Kill()
	// One console's instance installs; the other waits for it.
	line, err := m.Expect(`simplecloud: (installing unattended from|waiting for the unattended install on another console)[^\n]*`, 6*time.Minute)
	if err != nil {
		return err
	}
	fmt.Printf("   %v: the serial console says: %s\n", m.Since(), strings.TrimSpace(line[0]))
	if err := machine.WaitServing(fmt.Sprintf("127.0.0.1:%d", port), 5*time.Minute); err != nil {
		return err
	}
	fmt.Printf("   %v: installed; the server answers on the forwarded port\n", m.Since())
	if err := m.Login("root", rootPassword); err != nil {
		return err
	}
	for _, c := range []string{"lsblk -o NAME,SIZE,TYPE,MOUNTPOINTS /dev/vda", "grep -v '^ *#' /etc/simplecloud/simplecloud.toml | grep ."} {
		if err := show(m, c); err != nil {
			return err
		}
	}
	fmt.Println("\n   reboot")
	return m.Off("systemctl reboot", 2*time.Minute)
}

// secondBoot unlocks over SSH, uploads a file and powers off.
func secondBoot(d machine.Disks, dir string, port int, alice *machine.Client) error {
	say("second boot: the data volume is locked; the console and the SSH server ask at once")
	m, err := start(d, dir, port, "console-2.log")
	if err != nil {
		return err
	}
	defer m.Kill()
	q, err := m.Expect(`Passphrase for the SimpleCloud data volume[^\n]*:`, 6*time.Minute)
	if err != nil {
		return err
	}
	fmt.Printf("   %v: the console asks: %s\n", m.Since(), q[0])
	if err := machine.WaitServing(fmt.Sprintf("127.0.0.1:%d", port), time.Minute); err != nil {
		return err
	}
	fmt.Printf("   %v: the SSH server listens in unlock mode\n", m.Since())
	fmt.Printf("\n$ simplecloud unlock --remote alice@127.0.0.1 -p %d -i %s --key-file PASSPHRASE-FILE\n", port, alice.Key)
	out, err := alice.Unlock(passphrase)
	fmt.Print(out)
	if err != nil {
		return err
	}
	fmt.Printf("\n$ sftp -P %d -i %s alice@127.0.0.1  (put, then ls -l)\n", port, alice.Key)
	local := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(local, []byte("hello from the demo\n"), 0o644); err != nil {
		return err
	}
	out, err = alice.SFTP("put " + local + " hello.txt\nls -l\n")
	fmt.Print(out)
	if err != nil {
		return err
	}
	if err := m.Login("root", rootPassword); err != nil {
		return err
	}
	for _, c := range []string{"ls -ln /srv/simplecloud/alice",
		"journalctl -b -u simplecloud-unlock -o cat | grep -E 'remote unlock|unlocked by'",
		"systemctl --failed --no-legend --plain; systemctl is-system-running"} {
		if err := show(m, c); err != nil {
			return err
		}
	}
	fmt.Println("\n   power off")
	return m.Off("systemctl poweroff", 2*time.Minute)
}

// start boots the machine, with its console copied to a log in dir.
func start(d machine.Disks, dir string, port int, log string) (*machine.Machine, error) {
	f, err := os.Create(filepath.Join(dir, log))
	if err != nil {
		return nil, err
	}
	return machine.Start(machine.Options{System: d.System, Data: d.Data, Vars: d.Vars, Port: port, Console: f})
}

// show runs a command on the guest's console and prints it and its output.
func show(m *machine.Machine, command string) error {
	out, code, err := m.Shell(command, 2*time.Minute)
	if err != nil {
		return err
	}
	fmt.Printf("\nroot@simplecloud# %s\n%s", command, strings.ReplaceAll(out, "\r", ""))
	if code != 0 {
		return fmt.Errorf("%q: exit status %d in the guest", command, code)
	}
	return nil
}

func say(format string, args ...any) {
	fmt.Printf("\n== "+format+"\n", args...)
}
