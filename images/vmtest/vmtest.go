// Package vmtest boots SimpleCloud test guests from Go tests: it builds the
// static simplecloud binary and the guest init once per test binary, fetches
// the guest kernel into the cache once, writes an initramfs per guest and
// starts it with images/vm, killing it when the test ends.
//
// Tests that use it carry the build tag vmtest and names starting TestVM.
// When qemu or the kernel package is missing they fail with instructions;
// SIMPLECLOUD_SKIP_VM=1 skips them explicitly.
package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"simplecloud/images"
	"simplecloud/images/vm"
)

// SkipEnv is the environment variable that skips VM tests when set to 1.
const SkipEnv = "SIMPLECLOUD_SKIP_VM"

// Options are vm.Options plus what goes into the guest's initramfs.
type Options struct {
	vm.Options
	Programs []string      // host programs copied with their libraries, e.g. "cryptsetup", "mkfs.ext4"
	Files    []images.File // extra host files
	Modules  []string      // extra kernel modules
}

// Build prepares the guest described by o for t: it fills in o's Dir
// (a temp dir of t's), Kernel and Initrd and returns the vm.Options to start
// it with. It fails t (or skips it when SIMPLECLOUD_SKIP_VM=1) on error.
func Build(t testing.TB, o Options) vm.Options {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping VM test", SkipEnv)
	}
	a, err := images.Prepare(context.Background())
	if err != nil {
		t.Fatalf("prepare guest: %v", err)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	initrd := filepath.Join(o.Dir, "initrd")
	g := a.Guest()
	g.Modules, g.Programs, g.Files = o.Modules, o.Programs, o.Files
	if err := g.Build(initrd); err != nil {
		t.Fatalf("build initramfs: %v", err)
	}
	o.Kernel, o.Initrd = a.Kernel.Image, initrd
	return o.Options
}

// Boot starts a guest for t and stops it when t ends. It fails t (or skips
// it when SIMPLECLOUD_SKIP_VM=1) if the guest cannot start. On failure the
// guest's console is logged.
func Boot(t testing.TB, o Options) *vm.Machine {
	t.Helper()
	vo := Build(t, o)
	m, err := vm.Start(context.Background(), vo)
	if err != nil {
		t.Fatalf("boot guest: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("stop guest: %v", err)
		}
		if t.Failed() {
			t.Logf("guest console:\n%s", m.Console())
		}
	})
	return m
}
