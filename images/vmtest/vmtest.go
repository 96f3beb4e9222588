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
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// Artifacts are the built pieces every guest shares.
type Artifacts struct {
	Root        string // source tree
	Kernel      images.Kernel
	Init        string
	Simplecloud string
}

var (
	once    sync.Once
	shared  Artifacts
	prepErr error
)

// Prepare builds (once per process) the binaries and fetches the kernel.
func Prepare(ctx context.Context) (Artifacts, error) {
	once.Do(func() { shared, prepErr = prepare(ctx) })
	return shared, prepErr
}

func prepare(ctx context.Context) (Artifacts, error) {
	var a Artifacts
	for _, tool := range []string{"qemu-system-x86_64", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return a, fmt.Errorf("VM tests need %s, which is missing: %s", tool, images.InstallHint)
		}
	}
	root, err := images.SourceRoot()
	if err != nil {
		return a, err
	}
	a.Root = root
	cache, err := images.CacheDir()
	if err != nil {
		return a, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if a.Kernel, err = images.EnsureKernel(ctx, cache, log); err != nil {
		return a, err
	}
	bin := filepath.Join(cache, "bin")
	if a.Init, err = images.BuildStatic(ctx, root, "./images/guestinit", bin); err != nil {
		return a, err
	}
	if a.Simplecloud, err = images.BuildStatic(ctx, root, "./cmd/simplecloud", bin); err != nil {
		return a, err
	}
	return a, nil
}

// Build prepares the guest described by o for t: it fills in o's Dir
// (a temp dir of t's), Kernel and Initrd and returns the vm.Options to start
// it with. It fails t (or skips it when SIMPLECLOUD_SKIP_VM=1) on error.
func Build(t testing.TB, o Options) vm.Options {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping VM test", SkipEnv)
	}
	a, err := Prepare(context.Background())
	if err != nil {
		t.Fatalf("prepare guest: %v", err)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	initrd := filepath.Join(o.Dir, "initrd")
	g := images.Guest{Kernel: a.Kernel, Init: a.Init, Simplecloud: a.Simplecloud,
		Modules: o.Modules, Programs: o.Programs, Files: o.Files}
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
