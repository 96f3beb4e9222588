package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func mountAll() error {
	mounts := []struct{ src, dst, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"devpts", "/dev/pts", "devpts", "ptmxmode=0666"},
		{"tmpfs", "/dev/shm", "tmpfs", ""},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, m.data); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err)
		}
	}
	// The links udev or systemd would make.
	for link, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, link); err != nil && !os.IsExist(err) {
			return fmt.Errorf("link %s: %w", link, err)
		}
	}
	return nil
}

// loadModules loads each module file listed in list, in order.
func loadModules(list string) error {
	f, err := os.Open(list)
	if err != nil {
		return fmt.Errorf("read module list: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" {
			continue
		}
		if err := loadModule(p); err != nil {
			return err
		}
	}
	return sc.Err()
}

func loadModule(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		// A module for hardware the guest lacks (aesni without AES-NI) is not fatal.
		if err == unix.ENODEV {
			fmt.Printf("guestinit: module %s: no such device; skipped\n", filepath.Base(p))
			return nil
		}
		return fmt.Errorf("load module %s: %w", p, err)
	}
	return nil
}

// virtioDisks lists the vd* block devices.
func virtioDisks() []string {
	m, _ := filepath.Glob("/sys/block/vd*")
	return m
}

func waitDisks(want string, timeout time.Duration) error {
	if want == "" {
		return nil
	}
	n, err := strconv.Atoi(want)
	if err != nil {
		return fmt.Errorf("parse sc.disks=%q: %w", want, err)
	}
	deadline := time.Now().Add(timeout)
	for len(virtioDisks()) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %d virtio disks: only %d after %v", n, len(virtioDisks()), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// linkByID makes /dev/disk/by-id/virtio-SERIAL links as udev would.
func linkByID() error {
	dir := "/dev/disk/by-id"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	for _, sys := range virtioDisks() {
		b, err := os.ReadFile(filepath.Join(sys, "serial"))
		serial := strings.TrimSpace(string(b))
		if err != nil || serial == "" {
			continue
		}
		name := filepath.Base(sys)
		if err := os.Symlink("../../"+name, filepath.Join(dir, "virtio-"+serial)); err != nil && !os.IsExist(err) {
			return fmt.Errorf("link %s: %w", name, err)
		}
		parts, _ := filepath.Glob(filepath.Join(sys, name+"*"))
		for _, p := range parts {
			pn := filepath.Base(p)
			link := filepath.Join(dir, "virtio-"+serial+"-part"+strings.TrimPrefix(strings.TrimPrefix(pn, name), "p"))
			if err := os.Symlink("../../"+pn, link); err != nil && !os.IsExist(err) {
				return fmt.Errorf("link %s: %w", pn, err)
			}
		}
	}
	return nil
}

// network configures lo and eth0 for qemu's user-mode network.
func network() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat("/sys/class/net/eth0"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("configure network: no eth0 after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", "10.0.2.15/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "route", "add", "default", "via", "10.0.2.2"},
	} {
		if b, err := exec.Command("/bin/busybox", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("configure network: %s: %v: %s", strings.Join(args, " "), err, b)
		}
	}
	return nil
}
