//go:build vmtest

package luks_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/luks"
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

// userspaceImage formats an image on the host with our code and writes
// data into its payload through the userspace XTS path. It returns the path.
func userspaceImage(t *testing.T, dir string, pass, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, "userspace.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 64 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	h, vk, err := luks.Format(f, luks.FormatOptions{
		SectorSize: 4096,
		Device:     luks.Geometry{Size: size, LogicalSectorSize: 512, PhysicalSectorSize: 512},
		PBKDF:      luks.PBKDF{Type: "pbkdf2", ForceIterations: 1000}, DigestIterations: 1000,
	}, pass)
	if err != nil {
		t.Fatalf("format image: %v", err)
	}
	pl, err := h.Payload(f, vk, size)
	if err != nil {
		t.Fatalf("open payload: %v", err)
	}
	if _, err := pl.WriteAt(data, 1<<20); err != nil {
		t.Fatalf("write payload: %v", err)
	}
	return p
}

// TestVMDMCrypt checks our LUKS2 and device-mapper code against the real
// kernel and the real cryptsetup, both ways, in one guest.
func TestVMDMCrypt(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3<<20+123)
	rand.Read(data)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	img := userspaceImage(t, dir, []byte("userspace-pass"), data)

	m := vmtest.Boot(t, vmtest.Options{
		Options: vm.Options{Dir: dir, Disks: []vm.Disk{
			{Size: 128 << 20, Serial: "OURS"}, {Size: 128 << 20, Serial: "THEIRS"}, {Path: img, Serial: "USERSPACE"}}},
		Programs: []string{"cryptsetup", "mkfs.ext4"},
	})
	guestRun(t, m, "printf 'correct horse' > /tmp/key; printf userspace-pass > /tmp/ukey; mkdir -p /mnt/a")

	t.Run("ours then cryptsetup", func(t *testing.T) {
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

	t.Run("cryptsetup then ours", func(t *testing.T) {
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

	t.Run("userspace path through dm-crypt", func(t *testing.T) {
		out := guestRun(t, m, fmt.Sprintf(`
cryptsetup open --key-file /tmp/ukey /dev/vdc us
dd if=/dev/mapper/us bs=1M skip=1 count=%d iflag=count_bytes 2>/dev/null | sha256sum | cut -d' ' -f1
cryptsetup close us
simplecloud luks open /dev/vdc us2 --key-file /tmp/ukey
dd if=/dev/mapper/us2 bs=1M skip=1 count=%d iflag=count_bytes 2>/dev/null | sha256sum | cut -d' ' -f1
simplecloud luks close us2`, len(data), len(data)))
		got := strings.Fields(out)
		if len(got) != 2 || got[0] != want || got[1] != want {
			t.Fatalf("got digests %q, want %s twice (cryptsetup, ours)", got, want)
		}
	})

	t.Run("wrong passphrase and deferred close", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		r, err := m.RunCmd(ctx, vm.Cmd{Argv: []string{"simplecloud", "luks", "open", "/dev/vda", "bad", "--key-file", "/dev/stdin"}, Stdin: []byte("wrong")})
		if err != nil || r.Exit != 2 {
			t.Fatalf("wrong passphrase: got exit %d (%v) stderr %q, want 2", r.Exit, err, r.Stderr)
		}
		guestRun(t, m, "simplecloud luks open /dev/vda busy --key-file /tmp/key")
		holder, err := m.StartCmd(vm.Cmd{Argv: []string{"sh", "-c", "exec 3</dev/mapper/busy; echo held > /tmp/held; sleep 600"}})
		if err != nil {
			t.Fatal(err)
		}
		guestRun(t, m, "while [ ! -e /tmp/held ]; do sleep 0.1; done")
		r, err = m.Run(ctx, "simplecloud", "luks", "close", "busy")
		if err != nil || r.Exit == 0 || !bytes.Contains(bytes.ToLower(r.Stderr), []byte("busy")) {
			t.Fatalf("close of a busy mapping: got exit %d (%v) stderr %q, want a failure saying busy", r.Exit, err, r.Stderr)
		}
		guestRun(t, m, "simplecloud luks close --deferred busy; test -b /dev/mapper/busy")
		if err := holder.Signal(9); err != nil {
			t.Fatal(err)
		}
		// The kernel removes the device once the holder is gone.
		guestRun(t, m, `i=0; while cat /sys/block/dm-*/dm/name 2>/dev/null | grep -qx busy; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done`)
	})
}
