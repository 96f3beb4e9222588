//go:build vmtest

package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/disk"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

// guest wraps a booted machine with helpers that fail the test.
type guest struct {
	t *testing.T
	m *vm.Machine
}

func (g guest) run(stdin string, argv ...string) vm.Result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := g.m.RunCmd(ctx, vm.Cmd{Argv: argv, Stdin: []byte(stdin)})
	if err != nil {
		g.t.Fatalf("run %q: %v", argv, err)
	}
	return r
}

func (g guest) sh(script string) string {
	g.t.Helper()
	r := g.run("", "sh", "-c", script)
	if r.Exit != 0 {
		g.t.Fatalf("%s: exit %d\n%s%s", script, r.Exit, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

// installGuestPrograms are the reference tools the guests need: cryptsetup
// as an oracle and e2fsprogs (the guest's busybox has a mke2fs applet too,
// which install must not pick).
var installGuestPrograms = []string{"cryptsetup", "mke2fs", "dumpe2fs", "e2fsck"}

// bootInstallGuest boots a guest on the two images and mounts the "system"
// disk (vda) at /sysroot, with /etc/simplecloud kept on it.
func bootInstallGuest(t *testing.T, system, data string, fresh bool) guest {
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{Disks: []vm.Disk{
		{Path: system, Size: 64 << 20, Serial: "SC-SYSTEM"},
		{Path: data, Size: 128 << 20, Serial: "SC-DATA"},
	}}, Programs: installGuestPrograms})
	g := guest{t: t, m: m}
	if fresh {
		g.sh("/usr/sbin/mke2fs -q -t ext4 /dev/vda") // not busybox's applet
	}
	g.sh(`mkdir -p /sysroot && mount /dev/vda /sysroot && mkdir -p /sysroot/etc/simplecloud /etc/simplecloud &&
mount --bind /sysroot/etc/simplecloud /etc/simplecloud && cp /bin/simplecloud /sysroot/simplecloud`)
	return g
}

// sc is simplecloud as the install guests run it: from the "system" disk.
const sc = "/sysroot/simplecloud"

// TestVMInstallAndUnlock is the first-boot story in a real kernel: an
// unattended install on the blank disk next to a mounted system disk, checked
// with cryptsetup and dumpe2fs; then a second boot on the same images where
// unlock on the serial console refuses a wrong passphrase, accepts the right
// one, and the file written before reads back. Each step builds on the ones
// before.
func TestVMInstallAndUnlock(t *testing.T) {
	dir := t.TempDir()
	s := &installStory{system: filepath.Join(dir, "system.img"), data: filepath.Join(dir, "data.img")}
	s.m = bootInstallGuest(t, s.system, s.data, true).m
	testutil.Step(t, "disks", s.disks)
	testutil.Step(t, "install refuses the system disk", s.refuseSystem)
	testutil.Step(t, "install", s.install)
	testutil.Step(t, "the volume as cryptsetup and dumpe2fs see it", s.checkVolume)
	testutil.Step(t, "a re-run refuses", s.rerun)
	testutil.Step(t, "lock", s.lock)
	s.m = bootInstallGuest(t, s.system, s.data, false).m // the second boot
	testutil.Step(t, "unlock on the console", s.unlockOnConsole)
	testutil.Step(t, "exit codes", s.exitCodes)
	testutil.Step(t, "lock of a busy volume", s.lockBusy)
}

// installStory is what the steps of TestVMInstallAndUnlock share.
type installStory struct {
	system, data string      // the disk images
	m            *vm.Machine // the guest of the current boot
	uuid         string      // the LUKS UUID install reported
}

func (s *installStory) disks(t *testing.T) {
	g := guest{t, s.m}
	r := g.run("", sc, "disks", "--json")
	var l disk.Listing
	if r.Exit != 0 || json.Unmarshal(r.Stdout, &l) != nil {
		t.Fatalf("disks --json: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	for _, d := range l.Disks {
		if d.Eligible != (d.ID == "virtio-SC-DATA") {
			t.Errorf("got %s eligible=%v; want only virtio-SC-DATA eligible", d.ID, d.Eligible)
		}
	}
}

func (s *installStory) refuseSystem(t *testing.T) {
	g := guest{t, s.m}
	g.sh("printf 'correct horse' > /tmp/key")
	r := g.run("", sc, "install", "--disk", "virtio-SC-SYSTEM", "--key-file", "/tmp/key", "--yes")
	if r.Exit != 1 || !strings.Contains(string(r.Stderr), "refusing to install on virtio-SC-SYSTEM") {
		t.Errorf("install on the system disk: got exit %d %s, want a refusal", r.Exit, r.Stderr)
	}
}

func (s *installStory) install(t *testing.T) {
	g := guest{t, s.m}
	r := g.run("", sc, "install", "--disk", "virtio-SC-DATA", "--key-file", "/tmp/key", "--yes", "--wipe", "zero",
		"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--recovery-key", "/sysroot/recovery.txt", "--json")
	if r.Exit != 0 {
		t.Fatalf("install: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Stdout)), "\n")
	var last struct {
		Result struct{ UUID, Target, Mount string }
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Result.UUID == "" {
		t.Fatalf("last JSON line %q: %v; want the result", lines[len(lines)-1], err)
	}
	s.uuid = last.Result.UUID
	if last.Result.Target != "/dev/vdb1" {
		t.Errorf("got target %s, want /dev/vdb1 (one GPT partition)", last.Result.Target)
	}
	t.Logf("install printed %d JSON lines; result %+v", len(lines), last.Result)
}

func (s *installStory) checkVolume(t *testing.T) {
	g := guest{t, s.m}
	dump := g.sh("cryptsetup luksDump /dev/vdb1")
	for _, want := range []string{"Version:       \t2", "UUID:          \t" + s.uuid, "Label:         \tsimplecloud", "0: luks2", "1: luks2"} {
		if !strings.Contains(dump, want) {
			t.Errorf("cryptsetup luksDump lacks %q:\n%s", want, dump)
		}
	}
	status := g.sh("cryptsetup status simplecloud")
	if !strings.Contains(status, "type:    LUKS2") || !strings.Contains(status, "device:  /dev/vdb1") {
		t.Errorf("cryptsetup status does not know the mapping as LUKS2 on vdb1:\n%s", status)
	}
	ext := g.sh("dumpe2fs -h /dev/mapper/simplecloud 2>/dev/null")
	for _, want := range []string{"Reserved block count:     0\n", "Filesystem volume name:   simplecloud\n", " extent "} {
		if !strings.Contains(ext, want) {
			t.Errorf("dumpe2fs -h lacks %q:\n%s", want, ext)
		}
	}
	g.sh("grep -q '^/dev/mapper/simplecloud /srv/simplecloud ext4' /proc/mounts")
	volumeMountedSafe(t, g, "install")
	cfg := g.sh("cat /etc/simplecloud/simplecloud.toml")
	if !strings.Contains(cfg, `uuid = "`+s.uuid+`"`) {
		t.Errorf("config lacks the LUKS UUID:\n%s", cfg)
	}
	g.sh("ls /etc/systemd/system/simplecloud-unlock.service /etc/systemd/system/simplecloud-serve.service")
	g.sh("echo written-before-reboot > /srv/simplecloud/f && sync")
}

func (s *installStory) rerun(t *testing.T) {
	r := guest{t, s.m}.run("", sc, "install", "--disk", "virtio-SC-DATA", "--key-file", "/tmp/key", "--yes", "--allow-signature")
	if r.Exit != 1 || !strings.Contains(string(r.Stderr), "already") || !strings.Contains(string(r.Stderr), "nothing was written") {
		t.Errorf("re-run: got exit %d %s, want a refusal: already installed", r.Exit, r.Stderr)
	}
}

// lock closes the volume and powers the guest off; the system disk was
// written only through its mounted filesystem.
func (s *installStory) lock(t *testing.T) {
	g := guest{t, s.m}
	if r := g.run("", sc, "lock"); r.Exit != 0 {
		t.Fatalf("lock: exit %d %s", r.Exit, r.Stderr)
	}
	g.sh("umount /etc/simplecloud && umount /sysroot && e2fsck -fn /dev/vda")
	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
}

func (s *installStory) unlockOnConsole(t *testing.T) {
	g := guest{t, s.m}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := s.m.StartCmd(vm.Cmd{Console: true, Argv: []string{sc, "unlock"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ expect, send string }{
		{"Enter passphrase for simplecloud", "wrong horse"},
		{"No key available with this passphrase.", ""},
		{"Enter passphrase for simplecloud", "correct horse"},
		{"Unlocked /dev/vdb1", ""},
	} {
		if err := s.m.Expect(ctx, step.expect); err != nil {
			t.Fatalf("expect %q: %v\nconsole:\n%s", step.expect, err, tail(s.m.Console(), 2000))
		}
		if step.send != "" {
			if err := s.m.SendLine(step.send); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := p.Wait(ctx)
	if err != nil || res.Exit != 0 {
		t.Fatalf("unlock: got %+v, %v; want exit 0", res, err)
	}
	if got := g.sh("cat /srv/simplecloud/f"); got != "written-before-reboot\n" {
		t.Errorf("got %q after the reboot, want the file written before", got)
	}
	volumeMountedSafe(t, g, "unlock")
	if strings.Contains(s.m.Console(), "correct horse") || strings.Contains(s.m.Console(), "wrong horse") {
		t.Error("a passphrase was echoed on the console")
	}
}

func (s *installStory) exitCodes(t *testing.T) {
	g := guest{t, s.m}
	exits := []struct {
		argv []string
		want int
	}{
		{[]string{sc, "unlock", "--key-file", "/tmp/none"}, 1},
		{[]string{sc, "unlock"}, exitAlreadyOpen},
		{[]string{sc, "lock"}, 0},
		{[]string{sc, "lock"}, exitAlreadyOpen},
		{[]string{"sh", "-c", "printf nope > /tmp/bad && " + sc + " unlock --key-file /tmp/bad"}, exitAuth},
		// A terminal-less stdin that stays open, silent, past the timeout.
		{[]string{"sh", "-c", "sleep 5 | " + sc + " unlock --timeout 2s"}, exitTimeout},
		{[]string{"sh", "-c", sc + " unlock --tries 1 < /dev/null"}, exitTimeout},
		{[]string{"sh", "-c", "sed 's/uuid = .*/uuid = \"00000000-0000-4000-8000-000000000000\"/' /etc/simplecloud/simplecloud.toml > /tmp/other.toml && " +
			sc + " unlock --config /tmp/other.toml --key-file /tmp/bad"}, exitMissingDisk},
		{[]string{sc, "unlock", "--recovery-key", "/sysroot/recovery.txt"}, 0},
	}
	for _, e := range exits {
		r := g.run("", e.argv...)
		if r.Exit != e.want {
			t.Errorf("%q: got exit %d, want %d\n%s%s", e.argv, r.Exit, e.want, r.Stdout, r.Stderr)
		}
	}
	if got := g.sh("cat /srv/simplecloud/f"); got != "written-before-reboot\n" {
		t.Errorf("after the recovery key: got %q, want the file", got)
	}
}

// lockBusy locks a busy volume: lock goes through the busy-device helper.
func (s *installStory) lockBusy(t *testing.T) {
	g := guest{t, s.m}
	holder, err := s.m.StartCmd(vm.Cmd{Argv: []string{"sh", "-c", "cd /srv/simplecloud && exec sleep 600"}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, time.Minute, func() error {
		if g.run("", "sh", "-c", "ls -l /proc/*/cwd 2>/dev/null | grep -q /srv/simplecloud").Exit != 0 {
			return errors.New("the holder never made /srv/simplecloud its working directory")
		}
		return nil
	})
	if r := g.run("", sc, "lock"); r.Exit != exitUsage || !strings.Contains(string(r.Stderr), "--yes") {
		t.Errorf("lock of a busy volume without --yes: got exit %d %s, want a refusal naming --yes", r.Exit, r.Stderr)
	}
	g.sh("test -e /dev/mapper/simplecloud")
	if r := g.run("", sc, "lock", "--yes", "--grace", "5s"); r.Exit != 0 {
		t.Errorf("lock --yes of a busy volume: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	g.sh("test ! -e /dev/mapper/simplecloud && ! grep -q /srv/simplecloud /proc/mounts")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r, err := holder.Wait(ctx); err != nil || r.Exit == 0 {
		t.Errorf("the process holding the volume: got %+v, %v; want it stopped", r, err)
	}
}

// volumeMountedSafe checks that the data volume is mounted nosuid and
// nodev (by install or unlock, as how says): a set-user-id file a user
// makes over SFTP must not run with its owner's rights.
func volumeMountedSafe(t *testing.T, g guest, how string) {
	t.Helper()
	line := g.sh("grep '^/dev/mapper/simplecloud /srv/simplecloud ' /proc/mounts")
	f := strings.Fields(line)
	if len(f) < 4 {
		t.Fatalf("after %s: got /proc/mounts line %q", how, line)
	}
	t.Logf("after %s: the volume is mounted %s", how, f[3])
	opts := "," + f[3] + ","
	for _, want := range []string{"nosuid", "nodev"} {
		if !strings.Contains(opts, ","+want+",") {
			t.Errorf("after %s: the volume is mounted %s, want %s", how, f[3], want)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
