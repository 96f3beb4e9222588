package provision

import (
	"errors"
	"fmt"
	"strings"

	"simplecloud/disk"
)

// RefusedError is returned when the guard does not allow the disk. Reasons
// are those left after lifting what our own earlier run caused.
type RefusedError struct {
	Disk    disk.Disk
	Reasons []disk.Reason
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to install on %s (%s): it is not eligible:", e.Disk.ID, e.Disk.Path)
	for _, r := range e.Reasons {
		fmt.Fprintf(&b, "\n  %s: %s", r.Code, r.Detail)
		if r.Override != "" {
			fmt.Fprintf(&b, " (%s allows it)", r.Override)
		}
	}
	if len(e.Reasons) == 0 {
		b.WriteString(" the guard gave no reason")
	}
	return b.String()
}

// InstalledError is returned when the volume is already installed: the disk
// carries our LUKS volume (by the configured UUID or our label), or the
// machine already has a configuration. Only a new confirmation
// (Options.Reformat) lets an install go on.
type InstalledError struct {
	Config *Config        // the existing configuration, or nil
	Disk   string         // by-id name of the chosen disk
	Volume disk.Signature // the volume found on the disk, when OnDisk
	OnDisk bool           // the chosen disk holds it
}

func (e *InstalledError) Error() string {
	if e.OnDisk {
		return fmt.Sprintf("%s already holds the SimpleCloud volume (LUKS UUID %s, label %s); nothing was written: unlock it with simplecloud unlock, or start over with --reformat and a new confirmation",
			e.Disk, e.Volume.UUID, e.Volume.Label)
	}
	return fmt.Sprintf("a SimpleCloud volume is already configured (LUKS UUID %s on %s); nothing was written: --reformat with a new confirmation replaces the configuration",
		e.Config.Volume.UUID, e.Config.Volume.Disk)
}

// Sentinel errors callers branch on (exit codes).
var (
	// ErrMissingDisk: no block device carries the configured LUKS UUID.
	ErrMissingDisk = errors.New("the data disk is missing")
	// ErrAlreadyOpen: the volume's device-mapper device exists already.
	ErrAlreadyOpen = errors.New("the volume is already open")
	// ErrNotOpen: lock found no open volume.
	ErrNotOpen = errors.New("the volume is not open")
	// ErrCancelled: the user cancelled a prompt.
	ErrCancelled = errors.New("cancelled")
)

// findVolume looks for our LUKS volume on the disk or its partitions: the
// configured UUID, or our label.
func findVolume(d disk.Disk, cfg *Config, label string) (disk.Signature, bool) {
	sigs := append([]disk.Signature{}, d.Signatures...)
	for _, p := range d.Partitions {
		sigs = append(sigs, p.Signatures...)
	}
	for _, s := range sigs {
		if s.Type != "luks2" && s.Type != "luks1" {
			continue
		}
		if cfg != nil && s.UUID == cfg.Volume.UUID || s.Label == label && label != "" {
			return s, true
		}
	}
	return disk.Signature{}, false
}
