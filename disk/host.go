package disk

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Host names the kernel interfaces discovery reads. Sys, Proc, Dev and Run
// are the paths as the machine sees them; they are read below Root, so a
// fixture tree can stand in for a machine (Root is ghw's chroot).
type Host struct {
	Root string // "/" on a real machine
	Sys  string // "/sys"
	Proc string // "/proc"
	Dev  string // "/dev"
	Run  string // "/run"; udev's database is Run/udev/data
	Log  *slog.Logger
}

// System returns the Host for the running machine.
func System(log *slog.Logger) Host {
	return Under("/", log)
}

// Under returns a Host whose kernel interfaces are in the usual places
// below root, a fixture tree in tests.
func Under(root string, log *slog.Logger) Host {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return Host{Root: root, Sys: "/sys", Proc: "/proc", Dev: "/dev", Run: "/run", Log: log.With("component", "disk")}
}

// in returns the path to read for a path the machine sees.
func (h Host) in(p ...string) string {
	return filepath.Join(append([]string{h.Root}, p...)...)
}

func (h Host) sys(p ...string) string  { return h.in(append([]string{h.Sys}, p...)...) }
func (h Host) proc(p ...string) string { return h.in(append([]string{h.Proc}, p...)...) }

// devPath is the device node of a kernel name as the machine sees it.
func (h Host) devPath(name string) string { return filepath.Join(h.Dev, name) }

// readTrim returns the trimmed contents of a small file, or "" when it
// cannot be read (sysfs attributes that a device does not have).
func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// names lists the entries of a directory, or nothing when it is missing.
func names(dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// udevData reads the udev database entry of a device (major:minor): its
// E: properties and its S: symlinks below /dev.
func (h Host) udevData(dev string) (props map[string]string, links []string) {
	props = map[string]string{}
	b, err := os.ReadFile(h.in(h.Run, "udev", "data", "b"+dev))
	if err != nil {
		return props, nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "E:"):
			if k, v, ok := strings.Cut(line[2:], "="); ok {
				props[k] = v
			}
		case strings.HasPrefix(line, "S:"):
			links = append(links, line[2:])
		}
	}
	return props, links
}

// byIDLinks lists the names in Dev/disk/by-id whose link resolves to the
// device node of name.
func (h Host) byIDLinks(name string) []string {
	dir := h.in(h.Dev, "disk", "by-id")
	var out []string
	for _, n := range names(dir) {
		t, err := os.Readlink(filepath.Join(dir, n))
		if err == nil && filepath.Base(t) == name {
			out = append(out, n)
		}
	}
	return out
}
