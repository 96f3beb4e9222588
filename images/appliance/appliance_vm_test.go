//go:build vmtest

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"simplecloud/images/appliance/machine"
	"simplecloud/internal/testutil"
)

// Environment the tests take from make vmtest-appliance: the image (after
// make image; by default bin/simplecloud-appliance.img) and the
// simplecloud binary for unlock --remote (by default bin/simplecloud).
const (
	ImageEnv = "SIMPLECLOUD_APPLIANCE_IMAGE"
	BinEnv   = "SIMPLECLOUD_BIN"
)

// The console's question from simplecloud-unlock.service, through
// systemd's console password agent.
const unlockQuestion = `Passphrase for the SimpleCloud data volume simplecloud`

// TestVMAppliance is the appliance's story under qemu (software emulation,
// OVMF), with a blank 256 MiB data disk, an answers file on the ESP and
// the user alice (group sudo, her key) made in the image by the test:
//  1. the first boot installs unattended and serves; a clean reboot;
//  2. the second boot asks at the console and over SSH at once; alice
//     unlocks over SSH through the forwarded port (simplecloud unlock
//     --remote) and uploads a file with sftp; a clean reboot;
//  3. the third boot: the passphrase typed at the console's prompt
//     unlocks; alice reads the file back with sftp; systemctl says the
//     system is running with no unit failed; power off;
//  4. the guest's journal records no failed unit on any boot.
//
// It prints the time from power-on to the unlock prompt.
func TestVMAppliance(t *testing.T) {
	const passphrase = "appliance test passphrase"
	const rootPassword = "appliance test root"
	start := time.Now()
	d, port := applianceDisks(t)
	alice, pub, err := machine.NewClient(t.TempDir(), "alice", port, simplecloudBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddUsers([]machine.User{{Name: "alice", Groups: []string{"sudo"}, PublicKey: pub}}, rootPassword); err != nil {
		t.Fatal(err)
	}
	if err := d.Answers(passphrase); err != nil {
		t.Fatal(err)
	}
	t.Logf("prepared the disks and the user in %v", time.Since(start).Round(time.Millisecond))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const upload = "uploaded over sftp after a remote unlock\n"
	local := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(local, []byte(upload), 0o644); err != nil {
		t.Fatal(err)
	}

	testutil.Step(t, "first boot installs unattended", func(t *testing.T) {
		m := boot(t, d, port)
		expect(t, m, `simplecloud: (installing unattended from|waiting for the unattended install on another console)`, 6*time.Minute)
		t.Logf("the installer started %v after power-on", m.Since())
		must(t, machine.WaitServing(addr, 5*time.Minute))
		t.Logf("the server answered %v after power-on", m.Since())
		if !strings.Contains(m.Text(0), "EXT4-fs (dm-0): mounted filesystem") {
			t.Errorf("the console does not show the data volume's ext4 mounted on dm-0")
		}
		must(t, m.Login("root", rootPassword))
		checkRunning(t, m)
		must(t, m.Off("systemctl reboot", 2*time.Minute))
		t.Logf("rebooted %v after power-on", m.Since())
	})

	testutil.Step(t, "second boot unlocks over SSH, sftp uploads", func(t *testing.T) {
		m := boot(t, d, port)
		expect(t, m, unlockQuestion, 6*time.Minute)
		toPrompt := m.Since()
		must(t, machine.WaitServing(addr, time.Minute))
		toSSH := m.Since()
		t.Logf("power-on to the unlock prompt: console %v, SSH %v", toPrompt, toSSH)
		fmt.Printf("TestVMAppliance: power-on to the unlock prompt (second boot): console %v, SSH %v\n", toPrompt, toSSH)
		out, err := alice.Unlock(passphrase)
		must(t, err)
		if !strings.Contains(out, "unlocked") {
			t.Errorf("unlock --remote said:\n%s", out)
		}
		t.Logf("unlocked over SSH %v after power-on", m.Since())
		out, err = alice.SFTP("put " + local + " hello.txt\nls -l\n")
		must(t, err)
		if !strings.Contains(out, "hello.txt") {
			t.Errorf("sftp ls after the upload:\n%s", out)
		}
		// The console's prompt was withdrawn: the getty runs there now.
		must(t, m.Login("root", rootPassword))
		if got, _ := shell(t, m, "stat -c '%U %s' /srv/simplecloud/alice/hello.txt"); strings.TrimSpace(got) != fmt.Sprintf("alice %d", len(upload)) {
			t.Errorf("the uploaded file in the guest: got %q, want alice's, %d bytes", got, len(upload))
		}
		checkRunning(t, m)
		must(t, m.Off("systemctl reboot", 2*time.Minute))
		t.Logf("rebooted %v after power-on", m.Since())
	})

	testutil.Step(t, "third boot unlocks at the console, sftp reads the file back", func(t *testing.T) {
		m := boot(t, d, port)
		expect(t, m, unlockQuestion, 6*time.Minute)
		toPrompt := m.Since()
		t.Logf("power-on to the unlock prompt: %v", toPrompt)
		fmt.Printf("TestVMAppliance: power-on to the unlock prompt (third boot): console %v\n", toPrompt)
		must(t, m.TypePassphrase(passphrase))
		// The server answers in unlock mode already: the file comes once
		// the volume is open and the same server serves it.
		must(t, testutil.Poll(5*time.Minute, func() error {
			_, err := alice.SFTP("get hello.txt " + local + ".back\n")
			return err
		}))
		t.Logf("unlocked at the console and read the file back %v after power-on", m.Since())
		if got, err := os.ReadFile(local + ".back"); err != nil || string(got) != upload {
			t.Errorf("read back: got %q, %v; want %q", got, err, upload)
		}
		must(t, m.Login("root", rootPassword))
		if s := m.Text(0); !strings.Contains(s, "nothing to install") {
			t.Errorf("the third boot's firstboot did not say it had nothing to install")
		}
		checkRunning(t, m)
		if out, code := shell(t, m, "systemctl is-failed --quiet '*'"); code != 1 {
			t.Errorf("systemctl is-failed '*': exit %d, want 1 (none failed)\n%s", code, out)
		}
		must(t, m.Off("systemctl poweroff", 2*time.Minute))
		t.Logf("powered off %v after power-on", m.Since())
	})

	testutil.Step(t, "no unit failed on any boot (the guest's journal)", func(t *testing.T) {
		failed, err := d.JournalFailures(t.TempDir())
		must(t, err)
		if len(failed) > 0 {
			t.Errorf("systemd logged failed units:\n%s", strings.Join(failed, "\n"))
		}
	})
}

// TestVMApplianceTUI boots the appliance image with a blank data disk and
// no answers file and drives the first-boot installer's TUI on the serial
// console: the blank disk is offered, the system disk is not, and once the
// install is done the server answers on the forwarded port and nothing
// failed.
func TestVMApplianceTUI(t *testing.T) {
	d, port := applianceDisks(t)
	m := boot(t, d, port)
	const passphrase = "typed in the TUI"
	for _, step := range []struct{ name, expect, send string }{
		{"the disk list", "Choose the data disk", "\r"},
		{"the chosen disk", "Enter use this disk", "\r"},
		{"confirm by name", "Type the disk's name to confirm", "virtio-data0\r"},
		{"no wipe", "be wiped first", "\r"},
		{"the passphrase", "Choose the passphrase", passphrase + "\r"},
		{"the passphrase again", "Again", passphrase + "\r"},
		{"no recovery key", "Add a recovery key", "\r"},
		{"installed", "Installed", "\r"},
	} {
		testutil.Step(t, step.name, func(t *testing.T) {
			timeout := time.Minute
			if step.name == "the disk list" {
				timeout = 6 * time.Minute
				t.Cleanup(func() { t.Logf("the installer's TUI showed %v after power-on", m.Since()) })
			}
			if step.name == "installed" {
				timeout = 5 * time.Minute // argon2id under emulation
			}
			expect(t, m, regexp.QuoteMeta(step.expect), timeout)
			must(t, m.Send(step.send))
		})
	}
	testutil.Step(t, "serving", func(t *testing.T) {
		must(t, machine.WaitServing(fmt.Sprintf("127.0.0.1:%d", port), 5*time.Minute))
		expect(t, m, `simplecloud login:`, 2*time.Minute)
		s := m.Text(0)
		if !strings.Contains(s, "virtio-data0") || strings.Contains(s, passphrase) {
			t.Errorf("the console shows the data disk: %v, the passphrase: %v; want true, false",
				strings.Contains(s, "virtio-data0"), strings.Contains(s, passphrase))
		}
		if !regexp.MustCompile(`system: vd[a-z]2 holds the running system's /`).MatchString(s) {
			t.Errorf("the disk list does not refuse the system disk (vda) for holding /")
		}
		if failed := m.Failed(); len(failed) > 0 {
			t.Errorf("failed units on the console:\n%s", strings.Join(failed, "\n"))
		}
		must(t, m.SysRqReboot())
		failed, err := d.JournalFailures(t.TempDir())
		must(t, err)
		if len(failed) > 0 {
			t.Errorf("systemd logged failed units:\n%s", strings.Join(failed, "\n"))
		}
	})
}

// applianceDisks makes the machine's disks (a copy of the image, OVMF's
// variables, a blank 256 MiB data disk) in a temporary directory, or in
// $SIMPLECLOUD_APPLIANCE_WORK/TEST to keep them, and picks the host port
// forwarded to the server.
func applianceDisks(t *testing.T) (machine.Disks, int) {
	t.Helper()
	testutil.NeedRoot(t, "qemu-system-x86_64", "cp", "debugfs", "journalctl", "mount", "chroot", "ssh", "sftp", "ssh-keygen")
	img := os.Getenv(ImageEnv)
	if img == "" {
		img = "../../bin/simplecloud-appliance.img"
	}
	if _, err := os.Stat(img); err != nil {
		t.Skipf("no appliance image (%v): make vmtest-appliance builds it and runs this test", err)
	}
	for _, f := range []string{machine.OVMFCode, machine.OVMFVars} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("UEFI firmware: %v; install Debian's ovmf package (make deps)", err)
		}
	}
	dir := t.TempDir()
	if keep := os.Getenv("SIMPLECLOUD_APPLIANCE_WORK"); keep != "" {
		dir = filepath.Join(keep, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "console-*.log"))
	for _, l := range logs {
		os.Remove(l)
	}
	d, err := machine.NewDisks(dir, img, 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	port, err := machine.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return d, port
}

// simplecloudBin is the simplecloud binary for unlock --remote.
func simplecloudBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(BinEnv)
	if bin == "" {
		bin = "../../bin/simplecloud"
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the simplecloud binary: %v (make vmtest-appliance builds it)", err)
	}
	return bin
}

// boot powers the machine on; it is killed when the test ends, and the
// console's tail is logged when the test failed.
func boot(t *testing.T, d machine.Disks, port int) *machine.Machine {
	t.Helper()
	// The console's log beside the disks (kept with them in
	// $SIMPLECLOUD_APPLIANCE_WORK).
	logs, _ := filepath.Glob(filepath.Join(filepath.Dir(d.System), "console-*.log"))
	log, err := os.Create(filepath.Join(filepath.Dir(d.System), fmt.Sprintf("console-%d.log", len(logs)+1)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.Start(machine.Options{System: d.System, Data: d.Data, Vars: d.Vars, Port: port, Console: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Kill()
		log.Close()
		if t.Failed() {
			t.Logf("console:\n%s", m.Tail(6000))
		}
	})
	return m
}

// checkRunning wants systemd to say the boot is done and no unit failed.
func checkRunning(t *testing.T, m *machine.Machine) {
	t.Helper()
	if out, _ := shell(t, m, "systemctl is-system-running --wait"); strings.TrimSpace(out) != "running" {
		failed, _ := shell(t, m, "systemctl --failed --no-legend --plain")
		t.Errorf("systemctl is-system-running: %q, want running; failed units:\n%s", strings.TrimSpace(out), failed)
	}
	if out, _ := shell(t, m, "systemctl --failed --no-legend --plain"); strings.TrimSpace(out) != "" {
		t.Errorf("systemctl --failed:\n%s", out)
	}
}

func shell(t *testing.T, m *machine.Machine, command string) (string, int) {
	t.Helper()
	out, code, err := m.Shell(command, 3*time.Minute)
	must(t, err)
	return out, code
}

func expect(t *testing.T, m *machine.Machine, re string, timeout time.Duration) {
	t.Helper()
	if _, err := m.Expect(re, timeout); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
