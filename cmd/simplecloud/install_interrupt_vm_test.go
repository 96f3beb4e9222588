//go:build vmtest

package main

import (
	"context"
	"fmt"
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

	for _, point := range []struct{ name, state string }{
		{"during the wipe", "wipe_done = "},
		{"after the partition", `"partition"]`},
		{"after the format", `"format"]`},
		{"after the open", `"open"]`},
		{"after the mkfs", `"mkfs"]`},
		{"after the mount", `"mount"]`},
	} {
		t.Run(point.name, func(t *testing.T) {
			g := guest{t: t, m: m}
			p, err := m.StartCmd(vm.Cmd{Argv: install})
			if err != nil {
				t.Fatal(err)
			}
			reached := waitState(t, g, point.state)
			if err := p.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := p.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Exit == 0 {
				t.Skipf("the install finished before the kill (state was %q)", reached)
			}
			t.Logf("killed with state:\n%s", reached)
			r := g.run("", install...)
			if r.Exit != 0 {
				t.Fatalf("re-run after the kill: exit %d\n%s", r.Exit, r.Stderr)
			}
			g.sh("cryptsetup luksDump /dev/vdb1 | grep -q 'Label:.*simplecloud' && grep -q ' /srv/simplecloud ext4 ' /proc/mounts")
			g.sh("test ! -e /etc/simplecloud/install-state.toml")
			// Start over on a blank disk for the next point.
			g.sh(sc + " lock && rm /etc/simplecloud/simplecloud.toml && dd if=/dev/zero of=/dev/vdb bs=1M 2>/dev/null; sync")
		})
	}
	if got := g.sh("md5sum /dev/vda"); got != sum {
		t.Errorf("the system disk changed: md5 %s, was %s", got, sum)
	}
}

// waitState polls the install state file until it contains want (or the
// install is over) and returns it.
func waitState(t *testing.T, g guest, want string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		s := string(g.run("", "cat", "/etc/simplecloud/install-state.toml").Stdout)
		if strings.Contains(s, want) && !strings.Contains(s, "wipe_done = 0\n") {
			return s
		}
		if strings.Contains(string(g.run("", "cat", "/proc/mounts").Stdout), "/srv/simplecloud") && want != `"mount"]` {
			return s + fmt.Sprintf("\n(mounted already; wanted %q)", want)
		}
	}
	t.Fatalf("the install never reached %q", want)
	return ""
}
