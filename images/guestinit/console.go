package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// consoleDev is the guest's console: a virtio console, which the host reads
// and types into. Console commands run on it.
const consoleDev = "/dev/hvc0"

// waitPath waits until path exists: devtmpfs makes virtio nodes a moment
// after their driver binds.
func waitPath(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: not there after %v", path, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// useConsole makes dev this process's stdin, stdout and stderr, so what init
// and the agent print reaches the host's console rather than the early-boot
// log.
func useConsole(dev string, timeout time.Duration) error {
	if err := waitPath(dev, timeout); err != nil {
		return fmt.Errorf("switch to the virtio console: %w", err)
	}
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("switch to the virtio console: %w", err)
	}
	defer f.Close()
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return fmt.Errorf("switch to the virtio console: dup onto fd %d: %w", fd, err)
		}
	}
	return nil
}

// findPort returns the device of the virtio port called name, waiting for
// it to appear.
func findPort(name string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		names, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil || strings.TrimSpace(string(b)) != name {
				continue
			}
			dev := "/dev/" + filepath.Base(filepath.Dir(n))
			if _, err := os.Stat(dev); err == nil {
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("find virtio port %s: not there after %v (ports: %v)", name, timeout, names)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
