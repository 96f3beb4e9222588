package images

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"simplecloud/internal/cmdrun"
)

// KernelPackage is the Debian meta-package whose dependency is the guest kernel.
const KernelPackage = "linux-image-cloud-amd64"

// InstallHint tells a person how to get what the VM tests need.
const InstallHint = "install them with `make deps` (as root: apt-get install qemu-system-x86 kmod busybox-static), " +
	"or set SIMPLECLOUD_SKIP_VM=1 to skip the VM tests explicitly"

// Kernel is an unpacked Debian kernel package.
type Kernel struct {
	Version string // e.g. 6.1.0-41-cloud-amd64
	Root    string // the unpacked package
	Image   string // the bzImage to boot
}

// ModulesDir returns the directory of the kernel's modules.
func (k Kernel) ModulesDir() string {
	return filepath.Join(k.Root, "lib", "modules", k.Version)
}

// EnsureKernel returns the cached guest kernel, fetching it first if the
// cache has none: apt-get download of the package KernelPackage depends on,
// dpkg -x, and depmod (Debian does not ship modules.dep). It is safe to call
// from several processes at once.
func EnsureKernel(ctx context.Context, cacheDir string, log *slog.Logger) (Kernel, error) {
	unlock, err := lockFile(filepath.Join(cacheDir, "kernel.lock"))
	if err != nil {
		return Kernel{}, err
	}
	defer unlock()
	dir := filepath.Join(cacheDir, "kernel")
	if k, err := loadKernel(dir); err == nil {
		return k, nil
	}
	log.Info("fetching guest kernel", "package", KernelPackage, "cache", dir)
	if err := fetchKernel(ctx, dir); err != nil {
		return Kernel{}, fmt.Errorf("fetch guest kernel into %s: %w; %s", dir, err, InstallHint)
	}
	return loadKernel(dir)
}

// loadKernel reads a complete cache entry; fetchKernel writes READY last.
func loadKernel(dir string) (Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, "READY"))
	if err != nil {
		return Kernel{}, err
	}
	v := strings.TrimSpace(string(b))
	k := Kernel{Version: v, Root: filepath.Join(dir, "root"), Image: filepath.Join(dir, "root", "boot", "vmlinuz-"+v)}
	if _, err := os.Stat(k.Image); err != nil {
		return Kernel{}, fmt.Errorf("load cached kernel: %w", err)
	}
	return k, nil
}

var dependsRE = regexp.MustCompile(`(?m)^\s*Depends:\s*(linux-image-\S+)`)

func fetchKernel(ctx context.Context, dir string) error {
	pkg, err := kernelDependency(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "kernel-fetch-")
	if err != nil {
		return fmt.Errorf("make temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := (cmdrun.Cmd{Name: "apt-get", Args: []string{"download", pkg}, Dir: tmp}).Run(ctx); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s: got %d .deb files, want 1", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if _, err := cmdrun.Run(ctx, "dpkg", "-x", debs[0], root); err != nil {
		return err
	}
	mods, err := os.ReadDir(filepath.Join(root, "lib", "modules"))
	if err != nil || len(mods) != 1 {
		return fmt.Errorf("find kernel version in %s: want one directory under lib/modules (%v)", debs[0], err)
	}
	version := mods[0].Name()
	if _, err := cmdrun.Run(ctx, depmodPath(), "-b", root, version); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "READY"), []byte(version+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark kernel cache ready: %w", err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move kernel into cache: %w", err)
	}
	return nil
}

// kernelDependency asks apt which kernel image KernelPackage depends on,
// refreshing the package lists once if apt does not know the package.
func kernelDependency(ctx context.Context) (string, error) {
	out, err := cmdrun.Run(ctx, "apt-cache", "depends", KernelPackage)
	if err != nil || !dependsRE.Match(out) {
		if _, uerr := cmdrun.Run(ctx, "apt-get", "update", "-qq"); uerr != nil {
			return "", fmt.Errorf("apt-get update: %w", uerr)
		}
		out, err = cmdrun.Run(ctx, "apt-cache", "depends", KernelPackage)
	}
	if err != nil {
		return "", err
	}
	m := dependsRE.FindSubmatch(out)
	if m == nil {
		return "", errors.New("apt-cache depends " + KernelPackage + ": no linux-image dependency listed")
	}
	return string(m[1]), nil
}

// depmodPath finds depmod, which lives in /usr/sbin or /sbin.
func depmodPath() string {
	for _, p := range []string{"/usr/sbin/depmod", "/sbin/depmod"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "depmod"
}
