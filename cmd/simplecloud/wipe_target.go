package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"simplecloud/disk"
)

// wipeTarget is what the user asked to wipe, after the guard allowed it.
type wipeTarget struct {
	path    string // what to open
	name    string // what the user confirms: the by-id name, or the image path
	summary string // a line describing it
}

// refusedError lists every reason the guard refused a disk.
type refusedError struct {
	d disk.Disk
}

func (e refusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to wipe %s (%s): it is not eligible:", e.d.ID, e.d.Path)
	for _, r := range e.d.Reasons {
		if !r.Allowed {
			fmt.Fprintf(&b, "\n  %s: %s", r.Code, r.Detail)
			if r.Override != "" {
				fmt.Fprintf(&b, " (%s allows it)", r.Override)
			}
		}
	}
	return b.String()
}

// resolveWipeTarget finds what arg names, a disk (by device path, by-id
// path, by-id name or kernel name) or an image file, and runs the guard on
// it. Anything else it leaves to wipe.Open to refuse.
func resolveWipeTarget(cmd *cobra.Command, a *app, flags *diskFlags, arg string) (wipeTarget, error) {
	st, statErr := os.Stat(arg)
	if statErr == nil && st.Mode().IsRegular() {
		return imageTarget(cmd, a, flags, arg)
	}
	isBlock := statErr == nil && st.Mode()&fs.ModeDevice != 0 && st.Mode()&fs.ModeCharDevice == 0
	if statErr == nil && !isBlock {
		return wipeTarget{path: arg}, nil // wipe.Open says what is wrong with it
	}
	ds, err := flags.discover(cmd, a, true)
	if err != nil {
		return wipeTarget{}, err
	}
	var d *disk.Disk
	if isBlock {
		rdev := st.Sys().(*syscall.Stat_t).Rdev
		dev := fmt.Sprintf("%d:%d", major(rdev), minor(rdev))
		for i := range ds {
			if ds[i].Dev == dev {
				d = &ds[i]
			}
		}
		if d == nil {
			return wipeTarget{}, fmt.Errorf("refusing to wipe %s: it is not a whole disk (a partition?); name the disk it belongs to", arg)
		}
	} else {
		var ok bool
		if d, ok = disk.Find(ds, arg); !ok {
			if errors.Is(statErr, fs.ErrNotExist) && !strings.Contains(arg, "/") {
				return wipeTarget{}, fmt.Errorf("wipe %s: no such file, and no disk has that name (see simplecloud disks)", arg)
			}
			return wipeTarget{}, fmt.Errorf("wipe %s: %w", arg, errors.Unwrap(statErr))
		}
	}
	if !d.Eligible {
		return wipeTarget{}, refusedError{d: *d}
	}
	name := d.ID
	if name == "" {
		name = d.Path
	}
	model := d.Model
	if model == "" {
		model = string(d.Kind)
	}
	return wipeTarget{
		path:    filepath.Join(flags.root, d.Path),
		name:    name,
		summary: fmt.Sprintf("%s (%s, %s, %s)", name, d.Path, disk.Size(d.SizeBytes), model),
	}, nil
}

// imageTarget guards an image file: it must not back an active loop device.
func imageTarget(cmd *cobra.Command, a *app, flags *diskFlags, arg string) (wipeTarget, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return wipeTarget{}, fmt.Errorf("wipe %s: %w", arg, err)
	}
	ds, err := flags.discover(cmd, a, true)
	if err != nil {
		return wipeTarget{}, err
	}
	for _, d := range ds {
		if d.BackingFile != "" && sameFile(abs, filepath.Join(flags.root, d.BackingFile)) {
			return wipeTarget{}, fmt.Errorf("refusing to wipe %s: it backs the loop device %s; detach it first (losetup -d %s)", arg, d.Path, d.Path)
		}
	}
	return wipeTarget{path: arg, name: abs, summary: "image file " + abs}, nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func major(dev uint64) uint64 { return (dev >> 8) & 0xfff }
func minor(dev uint64) uint64 { return (dev & 0xff) | ((dev >> 12) & 0xfff00) }
