package provision

import (
	"fmt"
	"strings"

	"simplecloud/disk"
)

// Plan is what an install will do, decided before anything is written.
// NewPlan builds it; Installer.Apply carries it out; a dry run prints it.
type Plan struct {
	Options Options       `json:"options"`
	Disk    disk.Disk     `json:"disk"`
	Target  string        `json:"target"` // what gets the LUKS header: the disk or its first partition
	Steps   []PlannedStep `json:"steps"`

	// Resume is the state of the interrupted install this plan continues.
	Resume *State `json:"resume,omitempty"`
	// Unmount and Close are leftovers of ours that the cleanup step undoes:
	// mount points, then device-mapper names.
	Unmount []string `json:"unmount,omitempty"`
	Close   []string `json:"close,omitempty"`
	// Replaces is the configuration this install replaces (--reformat).
	Replaces *Config `json:"replaces,omitempty"`
}

// PlannedStep is one step of a plan and what it will do.
type PlannedStep struct {
	Name   StepName `json:"name"`
	Detail string   `json:"detail"`
}

// Has reports whether the plan runs step s.
func (p *Plan) Has(s StepName) bool {
	for _, st := range p.Steps {
		if st.Name == s {
			return true
		}
	}
	return false
}

// NewPlan decides what installing onto d does. d carries the guard's verdict
// (disk.Decide already applied); cfg is the existing configuration and st the
// state an interrupted install left, each nil when there is none. It refuses
// an ineligible disk, and a disk or machine that already has the installed
// volume unless o.Reformat. Reasons that only our own interrupted run caused
// (its signatures, its device-mapper device, its mount) are lifted, and the
// plan undoes them first.
func NewPlan(o Options, d disk.Disk, cfg *Config, st *State) (*Plan, error) {
	o = o.WithDefaults()
	if err := o.Check(); err != nil {
		return nil, err
	}
	p := &Plan{Options: o, Disk: d, Target: d.Path}
	if st != nil && st.Disk == d.ID && d.ID != "" {
		p.Resume = st
	}
	vol, found := findVolume(d, cfg, o.Label)
	// Our label on a disk an unfinished install of ours names is that
	// install's work, not an installed volume; so is a configuration it
	// wrote before it was stopped (its last step, configure, writes the
	// configuration and then removes the state).
	cfgOurs := cfg != nil && p.Resume != nil && p.Resume.UUID != "" && cfg.Volume.UUID == p.Resume.UUID
	if cfg != nil && !cfgOurs || found && p.Resume == nil {
		if !o.Reformat {
			return nil, &InstalledError{Config: cfg, Disk: d.ID, Volume: vol, OnDisk: found}
		}
		p.Replaces = cfg
	}
	ours := p.Resume != nil || found
	if err := p.lift(ours, cfg); err != nil {
		return nil, err
	}
	if !o.WholeDisk {
		p.Target = PartitionPath(d.Path, 1)
	}
	p.Steps = p.steps()
	return p, nil
}

// lift checks every reason that makes the disk ineligible and lifts those our
// own earlier run caused, recording what the cleanup step must undo.
func (p *Plan) lift(ours bool, cfg *Config) error {
	names := map[string]bool{p.Options.Name: true}
	mounts := map[string]bool{p.Options.Mount: true}
	if p.Resume != nil {
		names[p.Resume.Name], mounts[p.Resume.Mount] = true, true
	}
	if cfg != nil {
		names[cfg.Volume.Name], mounts[cfg.Volume.Mount] = true, true
	}
	d := p.Disk
	ourHolders := len(d.Holders) > 0
	holderNames := map[string]bool{}
	for _, h := range d.Holders {
		if h.Kind != "crypt" || !names[h.DMName] {
			ourHolders = false
		}
		holderNames[h.Name] = true
	}
	ourMounts := true
	for _, m := range d.Mounts {
		if !mounts[m.MountPoint] || !holderNames[m.Device] || m.PID != 0 {
			ourMounts = false
		}
	}
	var left []disk.Reason
	for _, r := range d.Reasons {
		lifted := r.Allowed
		switch r.Code {
		case disk.ReasonSignature:
			lifted = lifted || ours
		case disk.ReasonHolder, disk.ReasonBusy:
			lifted = lifted || (ours && ourHolders)
		case disk.ReasonMounted:
			lifted = lifted || (ours && ourHolders && ourMounts)
		}
		if !lifted {
			left = append(left, r)
		}
	}
	if len(left) > 0 || (!d.Eligible && len(d.Reasons) == 0) {
		return &RefusedError{Disk: d, Reasons: left}
	}
	if ours && ourHolders {
		for _, m := range d.Mounts {
			p.Unmount = append(p.Unmount, m.MountPoint)
		}
		for _, h := range d.Holders {
			p.Close = append(p.Close, h.DMName)
		}
	}
	return nil
}

func (p *Plan) steps() []PlannedStep {
	o, d := p.Options, p.Disk
	size := disk.Size(d.SizeBytes)
	steps := []PlannedStep{{StepGuard, fmt.Sprintf("check again that %s (%s) is eligible, right before writing", d.ID, d.Path)}}
	if len(p.Unmount)+len(p.Close) > 0 {
		steps = append(steps, PlannedStep{StepCleanup, "undo what an earlier run left: " + strings.Join(append(prefixed("unmount ", p.Unmount), prefixed("close ", p.Close)...), ", ")})
	}
	switch {
	case o.Wipe == WipeNone:
	case p.Resume.Has(StepWipe) && p.Resume.WipeMode == string(o.Wipe):
	case p.Resume != nil && p.Resume.WipeMode == string(o.Wipe) && p.Resume.WipeDone > 0:
		steps = append(steps, PlannedStep{StepWipe, fmt.Sprintf("%s wipe of %s, resuming at byte %d", o.Wipe, size, p.Resume.WipeDone)})
	default:
		steps = append(steps, PlannedStep{StepWipe, fmt.Sprintf("%s wipe of the whole disk (%s, %s)", o.Wipe, size, EstimateWipe(o.Wipe, d))})
	}
	if !o.WholeDisk {
		steps = append(steps, PlannedStep{StepPartition, fmt.Sprintf("new GPT table with one Linux LUKS partition spanning the disk (%s)", p.Target)})
	}
	kdf := o.PBKDF.Type
	if kdf == "" {
		kdf = "argon2id"
	}
	format := fmt.Sprintf("LUKS2 on %s, label %s, %s keyslot for the passphrase", p.Target, o.Label, kdf)
	if o.RecoveryKey {
		format += " and one for a recovery key"
	}
	return append(steps,
		PlannedStep{StepFormat, format},
		PlannedStep{StepOpen, fmt.Sprintf("open it as /dev/mapper/%s", o.Name)},
		PlannedStep{StepMkfs, fmt.Sprintf("mke2fs -t ext4 -m 0 -L %s, checked with dumpe2fs -h (0 reserved blocks)", o.Label)},
		PlannedStep{StepMount, "mount it at " + o.Mount},
		PlannedStep{StepConfigure, "write /etc/simplecloud/simplecloud.toml and the systemd units simplecloud-unlock.service, simplecloud-serve.service"},
		PlannedStep{StepHandoff, "enable the units and start the server (where systemd runs)"},
	)
}

func prefixed(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// String renders the plan for people, as --dry-run prints it.
func (p *Plan) String() string {
	var b strings.Builder
	d := p.Disk
	fmt.Fprintf(&b, "Install plan for %s (%s, %s", d.ID, d.Path, disk.Size(d.SizeBytes))
	if d.Model != "" {
		fmt.Fprintf(&b, ", %s", d.Model)
	}
	b.WriteString("):\n")
	if p.Resume != nil {
		fmt.Fprintf(&b, "  continues an interrupted install (completed: %s)\n", stepList(p.Resume.Completed))
	}
	if p.Replaces != nil {
		fmt.Fprintf(&b, "  replaces the installed volume %s (--reformat)\n", p.Replaces.Volume.UUID)
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "  %2d. %-9s  %s\n", i+1, s.Name, s.Detail)
	}
	return b.String()
}

func stepList(ss []StepName) string {
	if len(ss) == 0 {
		return "nothing"
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// PartitionPath returns the device node of partition n of the disk at path,
// as the kernel names it: sda -> sda1, nvme0n1 -> nvme0n1p1, loop0 -> loop0p1.
func PartitionPath(path string, n int) string {
	if path != "" && path[len(path)-1] >= '0' && path[len(path)-1] <= '9' {
		return fmt.Sprintf("%sp%d", path, n)
	}
	return fmt.Sprintf("%s%d", path, n)
}
