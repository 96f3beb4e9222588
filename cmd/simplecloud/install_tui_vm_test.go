//go:build vmtest

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

// TestVMInstallTUI walks the interactive installer on the guest's serial
// console, a real terminal of 80x24, through to a finished install, and
// opens the result with cryptsetup and the passphrase typed there.
func TestVMInstallTUI(t *testing.T) {
	dir := t.TempDir()
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{Disks: []vm.Disk{
		{Path: filepath.Join(dir, "system.img"), Size: 32 << 20, Serial: "SC-SYSTEM"},
		{Path: filepath.Join(dir, "data.img"), Size: 64 << 20, Serial: "SC-DATA"},
	}}, Programs: installGuestPrograms})
	g := guest{t: t, m: m}
	g.sh("/usr/sbin/mke2fs -q -t ext4 /dev/vda && mkdir -p /sysroot && mount /dev/vda /sysroot")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := m.StartCmd(vm.Cmd{Console: true, Argv: []string{"sh", "-c",
		"stty rows 24 cols 80; exec simplecloud install --pbkdf pbkdf2 --pbkdf-force-iterations 1000"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ name, expect, send string }{
		{"the disk list", "Choose the data disk", "\r"},
		{"the chosen disk", "Enter use this disk", "\r"},
		{"confirm by name", "Type the disk's name to confirm", "virtio-SC-DATA\r"},
		{"no wipe", "be wiped first?", "\r"},
		{"the passphrase", "Choose the passphrase", "typed on the console\r"},
		{"the passphrase again", "Again", "typed on the console\r"},
		{"no recovery key", "Add a recovery key?", "\r"},
		{"installed", "Installed.", "\r"},
	} {
		testutil.Step(t, step.name, func(t *testing.T) {
			if err := m.Expect(ctx, step.expect); err != nil {
				t.Fatalf("expect %q: %v\nconsole:\n%s", step.expect, err, tail(m.Console(), 3000))
			}
			if err := m.Send(step.send); err != nil {
				t.Fatal(err)
			}
		})
	}
	testutil.Step(t, "the installer exits", func(t *testing.T) {
		if r, err := p.Wait(ctx); err != nil || r.Exit != 0 {
			t.Fatalf("installer: got %+v, %v; want exit 0\n%s", r, err, tail(m.Console(), 3000))
		}
		if strings.Contains(m.Console(), "typed on the console") {
			t.Error("the passphrase was echoed on the console")
		}
		// The mounted system disk is listed, greyed, with its reason.
		if !strings.Contains(m.Console(), "virtio-SC-SYSTEM") || !strings.Contains(m.Console(), "mounted: vda is mounted at /sysroot") {
			t.Errorf("the disk list does not show the system disk with its reason:\n%s", tail(m.Console(), 3000))
		}
	})
	testutil.Step(t, "the volume opens with the passphrase typed", func(t *testing.T) {
		g := guest{t, m}
		g.sh("printf 'typed on the console' | cryptsetup open --test-passphrase --key-file - /dev/vdb1")
		g.sh("grep -q ' /srv/simplecloud ext4 ' /proc/mounts && test -s /etc/simplecloud/simplecloud.toml")
	})
}
