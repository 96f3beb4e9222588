//go:build vmtest

package luks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

// guestRun runs a shell script in the guest and fails t unless it exits 0.
func guestRun(t *testing.T, m *vm.Machine, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := m.Run(ctx, "sh", "-c", "set -e\n"+script)
	if err != nil {
		t.Fatalf("run in guest: %v", err)
	}
	if r.Exit != 0 {
		t.Fatalf("script exited %d\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", r.Exit, script, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

// TestVMDMCrypt checks our LUKS2 and device-mapper code against the real
// kernel and the real cryptsetup, both ways, through an ext4 filesystem
// (TestVMLuksCLI covers raw bytes, the userspace path and deferred close).
func TestVMDMCrypt(t *testing.T) {
	m := vmtest.Boot(t, vmtest.Options{
		Options: vm.Options{Disks: []vm.Disk{
			{Size: 128 << 20, Serial: "OURS"}, {Size: 128 << 20, Serial: "THEIRS"}}},
		Programs: []string{"cryptsetup", "mkfs.ext4"},
	})
	guestRun(t, m, "printf 'correct horse' > /tmp/key; mkdir -p /mnt/a")

	testutil.Step(t, "ours then cryptsetup", func(t *testing.T) {
		out := guestRun(t, m, `
simplecloud luks format /dev/vda --key-file /tmp/key --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000
simplecloud luks open /dev/vda ours --key-file /tmp/key
test -b /dev/mapper/ours
mkfs.ext4 -q -m 0 /dev/mapper/ours
mount /dev/mapper/ours /mnt/a
dd if=/dev/urandom of=/mnt/a/f bs=1k count=1500 2>/dev/null
sha256sum /mnt/a/f | cut -d' ' -f1 > /tmp/sum-ours
umount /mnt/a
simplecloud luks close ours
test ! -e /dev/mapper/ours
cryptsetup open --key-file /tmp/key /dev/vda theirs
mount /dev/mapper/theirs /mnt/a
sha256sum /mnt/a/f | cut -d' ' -f1 > /tmp/sum-theirs
umount /mnt/a
cryptsetup close theirs
cmp /tmp/sum-ours /tmp/sum-theirs && echo same`)
		if strings.TrimSpace(out) != "same" {
			t.Fatalf("got %q, want the file to read back the same through cryptsetup", out)
		}
	})

	testutil.Step(t, "cryptsetup then ours", func(t *testing.T) {
		out := guestRun(t, m, `
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /tmp/key /dev/vdb
cryptsetup open --key-file /tmp/key /dev/vdb theirs
mkfs.ext4 -q -m 0 /dev/mapper/theirs
mount /dev/mapper/theirs /mnt/a
dd if=/dev/urandom of=/mnt/a/f bs=1k count=1500 2>/dev/null
sha256sum /mnt/a/f | cut -d' ' -f1 > /tmp/sum-theirs
umount /mnt/a
cryptsetup close theirs
simplecloud luks open /dev/vdb ours --key-file /tmp/key
simplecloud luks status ours
cryptsetup status ours | grep -q 'type:.*LUKS2'
mount /dev/mapper/ours /mnt/a
sha256sum /mnt/a/f | cut -d' ' -f1 > /tmp/sum-ours
umount /mnt/a
simplecloud luks close ours
cmp /tmp/sum-ours /tmp/sum-theirs && echo same`)
		if !strings.HasSuffix(strings.TrimSpace(out), "same") {
			t.Fatalf("got %q, want the file to read back the same through our mapping", out)
		}
	})

	testutil.Step(t, "wrong passphrase", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		r, err := m.RunCmd(ctx, vm.Cmd{Argv: []string{"simplecloud", "luks", "open", "/dev/vda", "bad", "--key-file", "/dev/stdin"}, Stdin: []byte("wrong")})
		if err != nil || r.Exit != 2 {
			t.Fatalf("wrong passphrase: got exit %d (%v) stderr %q, want 2", r.Exit, err, r.Stderr)
		}
	})
}
