//go:build bench

package provision_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"simplecloud/images"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
)

// TestBenchDataImage times, in the same guest (so under the same emulated
// CPU), building a 128 MiB data image from a 32 MiB directory two ways:
// simplecloud image data, and the reference mke2fs -d + cryptsetup
// luksFormat + open + dd through dm-crypt + close. Both write a file in the
// guest's RAM-backed root and use pbkdf2 with 1000 iterations so that the
// KDF does not count. Goal: ours at least 0.7x the reference's speed.
func TestBenchDataImage(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 32<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "data"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	m := vmtest.Boot(t, vmtest.Options{
		Options:  vm.Options{MemoryMB: 1536},
		Programs: []string{"cryptsetup", "/usr/sbin/mke2fs"},
		Modules:  []string{"loop"},
		Files:    []images.File{{Src: filepath.Join(dir, "data"), Dst: "/src/data"}},
	})
	sh := func(script string) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		r, err := m.RunCmd(ctx, vm.Cmd{Argv: []string{"sh", "-c", script}})
		if err != nil || r.Exit != 0 {
			t.Fatalf("%s: %v, exit %d\n%s%s", script, err, r.Exit, r.Stdout, r.Stderr)
		}
		return time.Since(start)
	}
	sh("printf 'bench pass' > /k")
	const kdf = "--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
	payload := strconv.Itoa((128 - 16) << 8) // 4096-byte blocks
	var ours, theirs time.Duration
	for range 3 {
		d := sh("simplecloud image data /ours.img --force --size 128M --from /src --key-file /k --log-level warn " + kdf)
		if ours == 0 || d < ours {
			ours = d
		}
		sh("rm -f /ours.img")
		d = sh(strings.Join([]string{
			"rm -f /fs.img && truncate -s 112M /fs.img && /usr/sbin/mke2fs -q -F -t ext4 -m 0 -b 4096 -d /src /fs.img " + payload,
			"truncate -s 128M /ref.img && cryptsetup luksFormat --batch-mode --key-file /k --sector-size 4096 " + kdf + " /ref.img",
			"cryptsetup open --key-file /k /ref.img ref",
			"dd if=/fs.img of=/dev/mapper/ref bs=4M conv=fsync 2>/dev/null",
			"cryptsetup close ref && rm -f /fs.img",
		}, " && "))
		if theirs == 0 || d < theirs {
			theirs = d
		}
		sh("rm -f /ref.img")
	}
	ratio := float64(theirs) / float64(ours)
	t.Logf("128 MiB image of a 32 MiB directory in the guest: ours %v, mke2fs+cryptsetup+dd %v: ours at %.2fx the reference's speed (goal >= 0.7x)",
		ours.Round(time.Millisecond), theirs.Round(time.Millisecond), ratio)
	if ratio < 0.7 {
		t.Errorf("ours is at %.2fx the reference's speed, want >= 0.7x", ratio)
	}
}
