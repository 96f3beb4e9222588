package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Target is what a user named to wipe, once the guard allowed it: a whole
// disk or an image file.
type Target struct {
	Path    string // what to open
	Name    string // what the user confirms: the disk's by-id name (else its path), or the image's absolute path
	Summary string // one line describing it
}

// RefusedError is the guard's refusal of a disk; its message lists every
// reason that is not lifted.
type RefusedError struct {
	Disk Disk
}

func (e RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to wipe %s (%s): it is not eligible:", e.Disk.ID, e.Disk.Path)
	for _, r := range e.Disk.Reasons {
		if !r.Allowed {
			fmt.Fprintf(&b, "\n  %s: %s", r.Code, r.Detail)
			if r.Override != "" {
				fmt.Fprintf(&b, " (%s allows it)", r.Override)
			}
		}
	}
	return b.String()
}

// DevNumber spells a device number (a stat's Rdev) as Disk.Dev does,
// "MAJOR:MINOR".
func DevNumber(rdev uint64) string {
	return fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev))
}

// ResolveTarget finds what arg names and runs the guard on it: an image
// file, refused while it backs a loop device, or a disk named by its device
// node (matched by device number, so any link to the node works), by-id path
// or name, device path or kernel name. A disk must be eligible. Anything else
// that exists is returned as it is, for the opener to refuse with the
// reason. discover lists every block device below root (the machine's root,
// or a fixture tree) with the guard's verdicts; it is called only when
// needed.
func ResolveTarget(arg, root string, discover func() ([]Disk, error)) (Target, error) {
	st, statErr := os.Stat(arg)
	if statErr == nil && st.Mode().IsRegular() {
		return imageTarget(arg, root, discover)
	}
	isBlock := statErr == nil && st.Mode()&fs.ModeDevice != 0 && st.Mode()&fs.ModeCharDevice == 0
	if statErr == nil && !isBlock {
		return Target{Path: arg}, nil
	}
	ds, err := discover()
	if err != nil {
		return Target{}, err
	}
	var d *Disk
	if isBlock {
		dev := DevNumber(uint64(st.Sys().(*syscall.Stat_t).Rdev))
		for i := range ds {
			if ds[i].Dev == dev {
				d = &ds[i]
			}
		}
		if d == nil {
			return Target{}, fmt.Errorf("refusing to wipe %s: it is not a whole disk (a partition?); name the disk it belongs to", arg)
		}
	} else {
		var ok bool
		if d, ok = Find(ds, arg); !ok {
			if errors.Is(statErr, fs.ErrNotExist) && !strings.Contains(arg, "/") {
				return Target{}, fmt.Errorf("wipe %s: no such file, and no disk has that name (see simplecloud disks)", arg)
			}
			return Target{}, fmt.Errorf("wipe %s: %w", arg, errors.Unwrap(statErr))
		}
	}
	if !d.Eligible {
		return Target{}, RefusedError{Disk: *d}
	}
	return d.target(root), nil
}

// target describes an eligible disk as a Target.
func (d *Disk) target(root string) Target {
	name := d.ID
	if name == "" {
		name = d.Path
	}
	model := d.Model
	if model == "" {
		model = string(d.Kind)
	}
	return Target{
		Path:    filepath.Join(root, d.Path),
		Name:    name,
		Summary: fmt.Sprintf("%s (%s, %s, %s)", name, d.Path, Size(d.SizeBytes), model),
	}
}

// imageTarget guards an image file: it must not back an active loop device.
func imageTarget(arg, root string, discover func() ([]Disk, error)) (Target, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return Target{}, fmt.Errorf("wipe %s: %w", arg, err)
	}
	ds, err := discover()
	if err != nil {
		return Target{}, err
	}
	for _, d := range ds {
		if d.BackingFile != "" && sameFile(abs, filepath.Join(root, d.BackingFile)) {
			return Target{}, fmt.Errorf("refusing to wipe %s: it backs the loop device %s; detach it first (losetup -d %s)", arg, d.Path, d.Path)
		}
	}
	return Target{Path: arg, Name: abs, Summary: "image file " + abs}, nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
