//go:build vmtest

package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
)

// TestVMInstallInterrupted kills the install at each step and runs it again:
// the second run must undo what the first left open and finish. The system
// disk, mounted read-only, must come out bit for bit the same.
func TestVMInstallInterrupted(t *testing.T) {
	dir := t.TempDir()
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{Disks: []vm.Disk{
		{Path: filepath.Join(dir, "system.img"), Size: 32 << 20, Serial: "SC-SYSTEM"},
		{Path: filepath.Join(dir, "data.img"), Size: 96 << 20, Serial: "SC-DATA"},
	}}, Programs: installGuestPrograms})
	g := guest{t: t, m: m}
	g.sh(`/usr/sbin/mke2fs -q -t ext4 /dev/vda && mkdir -p /sysroot && mount /dev/vda /sysroot &&
cp /bin/simplecloud /sysroot/simplecloud && umount /sysroot && mount -o ro /dev/vda /sysroot && printf pw > /tmp/key`)
	sum := g.sh("md5sum /dev/vda")
	const sc = "/sysroot/simplecloud"
	install := []string{sc, "install", "--disk", "virtio-SC-DATA", "--key-file", "/tmp/key", "--yes", "--wipe", "random",
		"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--json"}

	check := func(t *testing.T, g guest, installed bool) {
		t.Helper()
		r := g.run("", install...)
		switch {
		case installed && (r.Exit != 1 || !strings.Contains(string(r.Stderr), "already holds the SimpleCloud volume")):
			t.Fatalf("re-run after the configuration was written: exit %d\n%s; want: already installed", r.Exit, r.Stderr)
		case !installed && r.Exit != 0:
			t.Fatalf("re-run after the kill: exit %d\n%s", r.Exit, r.Stderr)
		}
		g.sh("cryptsetup luksDump /dev/vdb1 | grep -q 'Label:.*simplecloud' && grep -q ' /srv/simplecloud ext4 ' /proc/mounts")
		g.sh("test ! -e /etc/simplecloud/install-state.toml")
		// Start over on a blank disk for the next point.
		g.sh(sc + " lock && rm /etc/simplecloud/simplecloud.toml && dd if=/dev/zero of=/dev/vdb bs=1M 2>/dev/null; sync")
	}

	// A kill from outside while the wipe runs.
	t.Run("during the wipe", func(t *testing.T) {
		g := guest{t: t, m: m}
		p, err := m.StartCmd(vm.Cmd{Argv: install})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("killing with state:\n%s", waitState(t, g, "wipe_done = "))
		if err := p.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if res, err := p.Wait(ctx); err != nil || res.Exit == 0 {
			t.Fatalf("got %+v, %v; want the install killed", res, err)
		}
		check(t, g, false)
	})
	// SIGKILL right after each later step (the process kills itself there).
	for _, step := range []string{"wipe", "partition", "format", "open", "mkfs", "mount", "configure"} {
		t.Run("after "+step, func(t *testing.T) {
			g := guest{t: t, m: m}
			if r := g.run("", append(install, "--kill-after", step)...); r.Exit != 128+9 {
				t.Fatalf("got exit %d, want 137 (killed)\n%s", r.Exit, r.Stderr)
			}
			t.Logf("state after the kill:\n%s", g.run("", "cat", "/etc/simplecloud/install-state.toml").Stdout)
			// Once the configuration is written the install is done: a
			// re-run says so and writes nothing.
			check(t, g, step == "configure")
		})
	}
	t.Run("whole disk", func(t *testing.T) {
		g := guest{t: t, m: m}
		if r := g.run("", append(install, "--whole-disk")...); r.Exit != 0 {
			t.Fatalf("install --whole-disk: exit %d\n%s", r.Exit, r.Stderr)
		}
		g.sh("cryptsetup luksDump /dev/vdb | grep -q 'Label:.*simplecloud' && test ! -e /dev/vdb1")
		g.sh("cryptsetup status simplecloud | grep -q 'device:  /dev/vdb$' && dumpe2fs -h /dev/mapper/simplecloud 2>/dev/null | grep -q 'Reserved block count: *0$'")
		g.sh(sc + " lock")
	})
	if got := g.sh("md5sum /dev/vda"); got != sum {
		t.Errorf("the system disk changed: md5 %s, was %s", got, sum)
	}
}

// waitState polls the install state file until it contains want and the
// wipe has begun, and returns it.
func waitState(t *testing.T, g guest, want string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		s := string(g.run("", "cat", "/etc/simplecloud/install-state.toml").Stdout)
		if strings.Contains(s, want) && !strings.Contains(s, "wipe_done = 0\n") {
			return s
		}
	}
	t.Fatalf("the install never reached %q", want)
	return ""
}
