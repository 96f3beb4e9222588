package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"simplecloud/internal/cmdrun"
)

// File is a host file to place in the guest.
type File struct {
	Src string // host path
	Dst string // guest path
}

// Guest describes the initramfs of a test or demo guest.
type Guest struct {
	Kernel      Kernel
	Init        string   // the static images/guestinit binary, installed as /init
	Simplecloud string   // the static simplecloud binary, installed as /bin/simplecloud (optional)
	Busybox     string   // a static busybox; default: busybox on PATH
	Modules     []string // modules to load besides DefaultModules
	Programs    []string // host programs (names on PATH or paths), copied with their libraries to the same path
	Files       []File
}

// Build writes the guest's initramfs to out.
func (g Guest) Build(out string) error {
	r := NewInitramfs()
	if err := r.Copy("/init", g.Init); err != nil {
		return err
	}
	if g.Simplecloud != "" {
		if err := r.Copy("/bin/simplecloud", g.Simplecloud); err != nil {
			return err
		}
	}
	if err := g.addBusybox(r); err != nil {
		return err
	}
	if err := g.addModules(r); err != nil {
		return err
	}
	for _, p := range g.Programs {
		src, err := lookPath(p)
		if err != nil {
			return err
		}
		if err := r.Program(src, src); err != nil {
			return err
		}
	}
	for _, f := range g.Files {
		if err := r.Copy(f.Dst, f.Src); err != nil {
			return err
		}
	}
	r.Bytes("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	r.Bytes("/etc/group", []byte("root:x:0:\n"), 0o644)
	r.Dir("/root", 0o700)
	return r.WriteFile(out)
}

// lookPath finds a program on PATH or in the sbin directories.
func lookPath(p string) (string, error) {
	if strings.Contains(p, "/") {
		return p, nil
	}
	for _, d := range []string{"", "/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		var cand string
		var err error
		if d == "" {
			cand, err = exec.LookPath(p)
		} else {
			cand = filepath.Join(d, p)
			_, err = os.Stat(cand)
		}
		if err == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("find program %s for the guest: not on PATH or in /usr/sbin, /sbin", p)
}

func (g Guest) addBusybox(r *Initramfs) error {
	bb := g.Busybox
	if bb == "" {
		var err error
		if bb, err = lookPath("busybox"); err != nil {
			return fmt.Errorf("%w; %s", err, InstallHint)
		}
	}
	interp, _, err := Needs(bb)
	if err != nil {
		return err
	}
	if interp != "" {
		return fmt.Errorf("busybox at %s is dynamically linked; the guest needs busybox-static; %s", bb, InstallHint)
	}
	if err := r.Copy("/bin/busybox", bb); err != nil {
		return err
	}
	out, err := cmdrun.Run(context.Background(), bb, "--list-full")
	if err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(out)) {
		dst := "/" + applet
		if !r.Has(dst) && path.Base(dst) != "busybox" {
			r.Symlink(dst, "/bin/busybox")
		}
	}
	return nil
}

func (g Guest) addModules(r *Initramfs) error {
	deps, err := LoadModuleDeps(g.Kernel.ModulesDir())
	if err != nil {
		return err
	}
	order, err := deps.Order(append(append([]string{}, DefaultModules...), g.Modules...))
	if err != nil {
		return err
	}
	var list strings.Builder
	for _, rel := range order {
		dst := path.Join("/lib/modules", g.Kernel.Version, rel)
		if err := r.Copy(dst, filepath.Join(g.Kernel.ModulesDir(), rel)); err != nil {
			return err
		}
		list.WriteString(dst + "\n")
	}
	r.Bytes("/etc/guest/modules", []byte(list.String()), 0o644)
	return nil
}

// BuildStatic builds the Go package pkg (like "./cmd/simplecloud") of the
// source tree at root as a static binary in dir and returns its path. Several
// processes may build into the same dir at once: the build goes to a temp
// file renamed into place, so a reader never sees a half-written binary.
func BuildStatic(ctx context.Context, root, pkg, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	out := filepath.Join(dir, path.Base(pkg))
	tmp, err := os.CreateTemp(dir, ".build-*")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	c := cmdrun.Cmd{Name: "go", Args: []string{"build", "-trimpath", "-o", tmp.Name(), pkg}, Dir: root, Env: []string{"CGO_ENABLED=0"}}
	if err := c.Run(ctx); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return out, nil
}
