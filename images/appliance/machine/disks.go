package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"simplecloud/images/appliance/esp"
	"simplecloud/internal/cmdrun"
)

// Disks are one machine's files.
type Disks struct {
	System, Data, Vars string
}

// NewDisks copies the image (sparse) and OVMF's variables into dir and
// makes a blank data disk of dataSize bytes beside them.
func NewDisks(dir, image string, dataSize int64) (Disks, error) {
	d := Disks{System: filepath.Join(dir, "system.img"), Data: filepath.Join(dir, "data.img"), Vars: filepath.Join(dir, "vars.fd")}
	for _, f := range []string{d.System, d.Data, d.Vars} {
		os.Remove(f)
	}
	for from, to := range map[string]string{image: d.System, OVMFVars: d.Vars} {
		if out, err := exec.Command("cp", "--sparse=always", from, to).CombinedOutput(); err != nil {
			return d, fmt.Errorf("copy %s: %w: %s", from, err, strings.TrimSpace(string(out)))
		}
	}
	f, err := os.Create(d.Data)
	if err != nil {
		return d, fmt.Errorf("make the data disk: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(dataSize); err != nil {
		return d, fmt.Errorf("make the data disk: %w", err)
	}
	return d, nil
}

// Answers puts an answers file and the passphrase file it names on the
// ESP, for an unattended first-boot install on virtio-data0. The key is
// derived with few PBKDF2 iterations: the guest runs under emulation.
func (d Disks) Answers(passphrase string) error {
	const answers = `# An unattended install (images/appliance/machine).
disk = "virtio-data0"
key-file = "/boot/efi/simplecloud/passphrase"
yes = true
pbkdf = "pbkdf2"
pbkdf-force-iterations = 1000
`
	return esp.Add(d.System, map[string][]byte{
		"/simplecloud/answers.toml": []byte(answers),
		"/simplecloud/passphrase":   []byte(passphrase),
	})
}

// User is an account to make in the image.
type User struct {
	Name      string
	Groups    []string // supplementary groups, e.g. sudo (unlock's default admin group)
	PublicKey string   // one authorized_keys line
}

// AddUsers makes users in the image's root filesystem, with the image's own
// useradd (chroot), each with its key in ~/.ssh/authorized_keys, and sets
// root's password (for a login on the console). The root partition is
// loop-mounted at its offset for the while.
func (d Disks) AddUsers(users []User, rootPassword string) (err error) {
	p, err := rootPartition(d.System)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "simplecloud-appliance-root-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	opts := fmt.Sprintf("loop,offset=%d,sizelimit=%d", p.GetStart(), p.GetSize())
	if err := run("mount", "-o", opts, d.System, dir); err != nil {
		return fmt.Errorf("mount the image's root: %w", err)
	}
	defer func() {
		if uerr := run("umount", dir); uerr != nil && err == nil {
			err = fmt.Errorf("unmount the image's root: %w", uerr)
		}
	}()
	for _, u := range users {
		// "*": no password, and not locked as useradd's "!" is (the
		// server, as sshd, refuses locked accounts even with a key).
		args := []string{dir, "useradd", "--create-home", "--shell", "/bin/bash", "--password", "*"}
		if len(u.Groups) > 0 {
			args = append(args, "--groups", strings.Join(u.Groups, ","))
		}
		if err := run("chroot", append(args, u.Name)...); err != nil {
			return fmt.Errorf("add user %s: %w", u.Name, err)
		}
		ssh := filepath.Join(dir, "home", u.Name, ".ssh")
		if err := os.MkdirAll(ssh, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(ssh, "authorized_keys"), []byte(strings.TrimSpace(u.PublicKey)+"\n"), 0o600); err != nil {
			return err
		}
		if err := run("chroot", dir, "chown", "-R", u.Name+":", "/home/"+u.Name+"/.ssh"); err != nil {
			return fmt.Errorf("add user %s: %w", u.Name, err)
		}
	}
	c := cmdrun.Cmd{Name: "chroot", Args: []string{dir, "chpasswd"}, Stdin: strings.NewReader("root:" + rootPassword + "\n")}
	if err := c.Run(context.Background()); err != nil {
		return fmt.Errorf("set root's password: %w", err)
	}
	return nil
}

// UnitFailedID is the MESSAGE_ID of systemd's "UNIT: Failed with result"
// entries: every unit that entered the failed state, as systemctl --failed
// would list it at that moment.
const UnitFailedID = "d9b373ed55a64feb8242e02dbe79a49c"

// JournalFailures reads the guest's persistent journal from the root
// partition of the (stopped) system image, without mounting it (debugfs),
// and returns systemd's messages about units that failed, on every boot.
func (d Disks) JournalFailures(tmp string) ([]string, error) {
	p, err := rootPartition(d.System)
	if err != nil {
		return nil, err
	}
	dev := d.System + "?offset=" + strconv.FormatInt(p.GetStart(), 10)
	if err := run("debugfs", "-R", "rdump /var/log/journal "+tmp, dev); err != nil {
		return nil, fmt.Errorf("read the guest's journal: %w", err)
	}
	out, err := exec.Command("journalctl", "-D", filepath.Join(tmp, "journal"), "--no-pager", "-q", "-o", "cat", "MESSAGE_ID="+UnitFailedID).Output()
	if err != nil {
		return nil, fmt.Errorf("journalctl on the guest's journal: %w", err)
	}
	var failed []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			failed = append(failed, line)
		}
	}
	return failed, nil
}

// rootPartition returns the image's root partition (GPT type Linux root
// x86-64).
func rootPartition(img string) (*gpt.Partition, error) {
	st, err := file.OpenFromPath(img, true)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	table, err := gpt.Read(st, esp.SectorSize, esp.SectorSize)
	if err != nil {
		return nil, fmt.Errorf("read the partition table of %s: %w", img, err)
	}
	for _, p := range table.Partitions {
		if p.Type == gpt.LinuxRootX86_64 {
			return p, nil
		}
	}
	return nil, errors.New("the image has no root partition")
}

// run runs a program through cmdrun, whose error carries its stderr.
func run(name string, args ...string) error {
	return cmdrun.Cmd{Name: name, Args: args}.Run(context.Background())
}
