//go:build vmtest

package luks_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/images"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
	"simplecloud/luks"
)

type csGuest struct {
	t *testing.T
	m *vm.Machine
}

func (g csGuest) run(stdin []byte, argv ...string) vm.Result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := g.m.RunCmd(ctx, vm.Cmd{Argv: argv, Stdin: stdin})
	if err != nil {
		g.t.Fatalf("run %q: %v", argv, err)
	}
	return r
}

// sh runs a script and fails unless it exits with want.
func (g csGuest) sh(want int, script string) string {
	g.t.Helper()
	r := g.run(nil, "sh", "-c", script)
	if r.Exit != want {
		g.t.Fatalf("%s: exit %d, want %d\n%s%s", script, r.Exit, want, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

const (
	vmDisk    = 64 << 20
	vmPattern = 256 << 10 // bytes written and compared
	fastKDF   = "--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
	usOffset  = 3*4096 + 512 // inside a 4096-byte sector: the userspace path merges
)

// csUserspaceImage formats an image on the host and writes pattern through
// the userspace data path, for dm-crypt in the csGuest to read back.
func csUserspaceImage(t *testing.T, dir string, sectorSize int, pattern []byte) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("us%d.img", sectorSize))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(vmDisk); err != nil {
		t.Fatal(err)
	}
	h, vk, err := luks.Format(f, luks.FormatOptions{
		SectorSize: sectorSize, DigestIterations: 1000,
		PBKDF:  luks.PBKDF{Type: "pbkdf2", ForceIterations: 1000},
		Device: luks.Geometry{Size: vmDisk, LogicalSectorSize: 512, PhysicalSectorSize: 512},
	}, []byte("vm pass"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Payload(f, vk, vmDisk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteAt(pattern, usOffset); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVMLuksCLI drives simplecloud luks against the csGuest kernel's dm-crypt,
// with cryptsetup as the oracle.
func TestVMLuksCLI(t *testing.T) {
	dir := t.TempDir()
	pattern := make([]byte, vmPattern)
	rand.Read(pattern)
	patPath := filepath.Join(dir, "pattern")
	os.WriteFile(patPath, pattern, 0o600)
	us512 := csUserspaceImage(t, dir, 512, pattern)
	us4k := csUserspaceImage(t, dir, 4096, pattern)
	m := vmtest.Boot(t, vmtest.Options{
		Options: vm.Options{Disks: []vm.Disk{
			{Size: vmDisk, Serial: "SC-OURS"},   // vda: formatted by us
			{Size: vmDisk, Serial: "SC-THEIRS"}, // vdb: formatted by cryptsetup
			{Path: us512, Serial: "SC-US512"},   // vdc: written in userspace, 512-byte sectors
			{Path: us4k, Serial: "SC-US4K"},     // vdd: written in userspace, 4096-byte sectors
		}},
		Programs: []string{"cryptsetup"},
		Files:    []images.File{{Src: patPath, Dst: "/pattern"}},
	})
	g := csGuest{t, m}
	if r := g.run([]byte("vm pass"), "sh", "-c", "cat > /k"); r.Exit != 0 {
		t.Fatalf("write key file: %s", r.Stderr)
	}
	testutil.Step(t, "ours to cryptsetup", func(t *testing.T) {
		g := csGuest{t, m}
		g.sh(0, "simplecloud luks format /dev/vda --batch-mode --key-file /k --sector-size 4096 "+fastKDF)
		g.sh(0, "simplecloud luks open /dev/vda ours --key-file /k")
		st := g.sh(0, "simplecloud luks status ours")
		if !strings.Contains(st, "is active") || !strings.Contains(st, "sector size:  4096") {
			t.Errorf("status:\n%s", st)
		}
		if cs := g.sh(0, "cryptsetup status ours"); !strings.Contains(cs, "type:    LUKS2") {
			t.Errorf("cryptsetup does not see our mapping as LUKS2:\n%s", cs)
		}
		g.sh(0, "dd if=/pattern of=/dev/mapper/ours bs=4096 seek=3 conv=fsync 2>/dev/null")
		g.sh(0, "simplecloud luks close ours")
		g.sh(4, "simplecloud luks status ours")
		g.sh(0, "cryptsetup open --key-file /k /dev/vda cs && dd if=/dev/mapper/cs bs=4096 skip=3 count=64 2>/dev/null | cmp - /pattern && cryptsetup close cs")
	})
	testutil.Step(t, "cryptsetup to ours", func(t *testing.T) {
		g := csGuest{t, m}
		g.sh(0, "cryptsetup luksFormat --batch-mode --key-file /k --pbkdf argon2id --pbkdf-memory 32768 --pbkdf-force-iterations 4 /dev/vdb")
		g.sh(0, "cryptsetup open --key-file /k /dev/vdb cs && dd if=/pattern of=/dev/mapper/cs bs=4096 seek=5 conv=fsync 2>/dev/null && cryptsetup close cs")
		g.sh(0, "simplecloud luks open /dev/vdb theirs --key-file /k --allow-discards")
		// A mapped device is in use: format must refuse it.
		g.sh(1, "simplecloud luks format /dev/vdb --batch-mode --key-file /k "+fastKDF)
		g.sh(0, "dd if=/dev/mapper/theirs bs=4096 skip=5 count=64 2>/dev/null | cmp - /pattern")
		if st := g.sh(0, "simplecloud luks status theirs"); !strings.Contains(st, "discards") {
			t.Errorf("status lacks the discards flag:\n%s", st)
		}
		g.sh(0, "cryptsetup close theirs")
	})
	testutil.Step(t, "userspace writes read through dm-crypt", func(t *testing.T) {
		g := csGuest{t, m}
		for _, dev := range []string{"vdc", "vdd"} {
			g.sh(0, "cryptsetup open --key-file /k /dev/"+dev+" us")
			g.sh(0, fmt.Sprintf("dd if=/dev/mapper/us bs=512 skip=%d count=%d 2>/dev/null | cmp - /pattern", usOffset/512, vmPattern/512))
			g.sh(0, "cryptsetup close us")
		}
	})
	testutil.Step(t, "image file through a loop device", func(t *testing.T) {
		g := csGuest{t, m}
		g.sh(0, "dd if=/dev/zero of=/img bs=1048576 count=32 2>/dev/null")
		g.sh(0, "simplecloud luks format /img --batch-mode --key-file /k "+fastKDF)
		g.sh(0, "simplecloud luks open /img imgmap --key-file /k")
		g.sh(0, "dd if=/pattern of=/dev/mapper/imgmap bs=4096 seek=2 conv=fsync 2>/dev/null")
		g.sh(0, "simplecloud luks close imgmap")
		testutil.Eventually(t, time.Minute, func() error {
			if g.run(nil, "sh", "-c", "cat /sys/block/loop*/loop/backing_file 2>/dev/null | grep -q /img").Exit == 0 {
				return errors.New("the loop device stayed attached after close")
			}
			return nil
		})
		g.sh(0, "cryptsetup open --key-file /k /img cs2 && dd if=/dev/mapper/cs2 bs=4096 skip=2 count=64 2>/dev/null | cmp - /pattern && cryptsetup close cs2")
	})
	testutil.Step(t, "deferred close", func(t *testing.T) {
		g := csGuest{t, m}
		g.sh(0, "simplecloud luks open /dev/vda busy --key-file /k")
		p, err := m.StartCmd(vm.Cmd{Argv: []string{"sh", "-c", "exec 3</dev/mapper/busy; exec sleep 600"}})
		if err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, time.Minute, func() error {
			if st := g.sh(0, "simplecloud luks status busy"); !strings.Contains(st, "in use") {
				return fmt.Errorf("the holder never opened the mapping; status:\n%s", st)
			}
			return nil
		})
		g.sh(5, "simplecloud luks close busy")
		g.sh(0, "simplecloud luks close busy --deferred")
		if st := g.sh(0, "simplecloud luks status busy"); !strings.Contains(st, "deferred remove pending") {
			t.Errorf("status after close --deferred:\n%s", st)
		}
		g.sh(0, "simplecloud luks close busy --cancel-deferred")
		if st := g.sh(0, "simplecloud luks status busy"); strings.Contains(st, "deferred") {
			t.Errorf("deferred remove still pending after --cancel-deferred:\n%s", st)
		}
		g.sh(0, "simplecloud luks close busy --deferred")
		if err := p.Signal(9); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, time.Minute, func() error {
			if r := g.run(nil, "simplecloud", "luks", "status", "busy"); r.Exit != 4 {
				return fmt.Errorf("the mapping did not go away after its last user: status exits %d\n%s", r.Exit, r.Stdout)
			}
			return nil
		})
	})
}
