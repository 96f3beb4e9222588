package holders

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Dev is a block device number.
type Dev struct {
	Major, Minor uint32
}

// String returns "MAJOR:MINOR".
func (d Dev) String() string { return fmt.Sprintf("%d:%d", d.Major, d.Minor) }

// MarshalText writes the device as "MAJOR:MINOR".
func (d Dev) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "MAJOR:MINOR".
func (d *Dev) UnmarshalText(b []byte) error {
	v, err := ParseDev(string(b))
	*d = v
	return err
}

// ParseDev reads a device number written as "MAJOR:MINOR".
func ParseDev(s string) (Dev, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ":")
	a, err1 := strconv.ParseUint(maj, 10, 32)
	b, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return Dev{}, fmt.Errorf("parse device number %q: want MAJOR:MINOR", s)
	}
	return Dev{uint32(a), uint32(b)}, nil
}

// Kinds of Hold.
const (
	HoldFD      = "fd"       // an open file descriptor
	HoldCwd     = "cwd"      // the working directory
	HoldRoot    = "root"     // the root directory (chroot)
	HoldExe     = "exe"      // the executable
	HoldMap     = "map"      // a memory-mapped file
	HoldMountNS = "mount-ns" // lives in a mount namespace where the device is mounted
)

// Hold is one thing a process holds on the device.
type Hold struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
	FD   int    `json:"fd,omitempty"` // for kind fd
	Dev  Dev    `json:"device"`       // which of the report's devices it is on
}

// Process is a process that holds the device.
type Process struct {
	PID     int    `json:"pid"`
	UID     int    `json:"uid"`
	User    string `json:"user"`
	Command string `json:"command"`
	Unit    string `json:"unit"`     // systemd unit (.service or .scope), if any
	MountNS uint64 `json:"mount_ns"` // inode of /proc/PID/ns/mnt
	// StartTime is field 22 of /proc/PID/stat (clock ticks since boot); with
	// the PID it names the process unambiguously.
	StartTime uint64 `json:"start_time"`
	Holds     []Hold `json:"holds"`
}

// OnlyMountNS reports whether the process holds nothing but its mount
// namespace: unmounting there frees the device without stopping it.
func (p Process) OnlyMountNS() bool {
	for _, h := range p.Holds {
		if h.Kind != HoldMountNS {
			return false
		}
	}
	return len(p.Holds) > 0
}

// Mount is a mount of one of the devices in one mount namespace, or a
// submount: a mount of another device somewhere below one, which has to
// go first.
type Mount struct {
	Dev        Dev    `json:"device"`
	Submount   bool   `json:"submount,omitempty"`
	Under      Dev    `json:"under,omitzero"` // for a submount: the device it is mounted inside
	MountPoint string `json:"mount_point"`
	FSType     string `json:"fstype"`
	Source     string `json:"source"`
	Namespace  uint64 `json:"mount_ns"`
	Initial    bool   `json:"current_ns"` // in the scanner's own namespace
	ID         int    `json:"mount_id"`
	// PIDs are the processes that live in the namespace, for namespaces
	// other than the scanner's own (empty there, and when only a bind mount
	// of an nsfs file or an open namespace fd keeps a namespace alive).
	PIDs []int `json:"pids"`
}

// Swap is an active swap area on one of the devices.
type Swap struct {
	Path string `json:"path"`
	Dev  Dev    `json:"device"` // the device it lies on
}

// Loop is a loop device whose backing file lies on one of the devices.
type Loop struct {
	Name        string `json:"name"` // kernel name, e.g. "loop0"
	Dev         Dev    `json:"loop_device"`
	BackingFile string `json:"backing_file"`
	On          Dev    `json:"device"` // the device the backing file lies on
}

// Kinds of Stacked.
const (
	StackedDM    = "dm"
	StackedMD    = "md"
	StackedOther = "other"
)

// Stacked is a block device built on top of one of the devices (a sysfs
// holder), or a partition of it.
type Stacked struct {
	Name   string `json:"name"`              // kernel name, e.g. "dm-1"
	DMName string `json:"dm_name,omitempty"` // device-mapper name, e.g. "vg-home"
	Kind   string `json:"kind"`              // dm, md, partition, other
	Dev    Dev    `json:"device"`
	On     Dev    `json:"on"`    // the device it is stacked on
	Depth  int    `json:"depth"` // 1 for a direct holder of the target
}

// Report is everything that keeps a device busy.
type Report struct {
	Target    string    `json:"target"`
	Dev       Dev       `json:"device"`
	Name      string    `json:"name"`              // kernel name of the target, e.g. "dm-0"
	DMName    string    `json:"dm_name,omitempty"` // device-mapper name, if any
	Devices   []Dev     `json:"devices"`           // the target and everything stacked on it
	Processes []Process `json:"processes"`
	Mounts    []Mount   `json:"mounts"`
	Swaps     []Swap    `json:"swaps"`
	Loops     []Loop    `json:"loops"`
	Stacked   []Stacked `json:"stacked"`
	// Kernel names users inside the kernel that no process accounts for,
	// e.g. a namespace kept only by a bind mount, or an nfsd export.
	Kernel []string `json:"kernel"`
	// Warnings are things the scan could not decide (a stat that timed out,
	// a process it could not read).
	Warnings []string `json:"warnings,omitempty"`
}

// Busy reports whether anything holds the device.
func (r Report) Busy() bool {
	return len(r.Processes)+len(r.Mounts)+len(r.Swaps)+len(r.Loops)+len(r.Stacked)+len(r.Kernel) > 0
}

// BusyBesides reports whether anything holds the device besides its own
// mount at mountPoint in the scanner's namespace: what lock finds busy.
func (r Report) BusyBesides(mountPoint string) bool {
	for _, m := range r.Mounts {
		if !m.Initial || filepath.Clean(m.MountPoint) != filepath.Clean(mountPoint) {
			return true
		}
	}
	return len(r.Processes)+len(r.Swaps)+len(r.Loops)+len(r.Stacked)+len(r.Kernel) > 0
}

// HoldsRoot reports whether the device (or one stacked on it) carries the
// root filesystem of the scanner's mount namespace.
func (r Report) HoldsRoot() bool {
	for _, m := range r.Mounts {
		if m.Initial && m.MountPoint == "/" {
			return true
		}
	}
	return false
}
