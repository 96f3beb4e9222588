package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
	"simplecloud/luks"
)

// Installer carries out plans on a System.
type Installer struct {
	Sys System
	// Binary is the path of the simplecloud binary the systemd units run.
	Binary string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Secrets are the keys of a new volume. The caller owns them and zeroes
// them after Apply returns; Apply never logs or reports them.
type Secrets struct {
	Passphrase  []byte
	RecoveryKey []byte // optional: a second keyslot (see luks.NewRecoveryKey)
}

// Result is what an install did.
type Result struct {
	Disk     string   `json:"disk"`   // by-id name
	Target   string   `json:"target"` // the device holding the LUKS header
	UUID     string   `json:"uuid"`   // LUKS UUID
	Mapper   string   `json:"mapper"` // /dev/mapper/NAME
	Mount    string   `json:"mount"`
	Ext4     Ext4Info `json:"ext4"`
	Keyslots int      `json:"keyslots"`
	Config   string   `json:"config"`
	Units    []string `json:"units"`
	Handoff  string   `json:"handoff"`
	Seconds  float64  `json:"seconds"`
}

// run is one Apply: the plan, what has been made so far, and the volume key
// between format and open.
type run struct {
	in    *Installer
	sys   *System
	p     *Plan
	sec   Secrets
	sink  Sink
	state *State
	res   Result

	hdr    *luks.Header
	vk     []byte
	size   uint64 // of the target, bytes
	opened bool   // this run mapped the volume
	closeM func()
	unlock func() // releases the lock on the whole disk partition took
}

// Apply runs the plan's steps in order and reports each to sink. A failed
// step stops the run: it emits EventFailed and returns the step's error,
// after closing what this run opened. Progress is recorded in the state file
// so that a later run continues on the same disk.
func (in *Installer) Apply(ctx context.Context, p *Plan, sec Secrets, sink Sink) (*Result, error) {
	if len(sec.Passphrase) == 0 {
		return nil, errors.New("install: empty passphrase")
	}
	start := in.now()
	r := &run{in: in, sys: &in.Sys, p: p, sec: sec, sink: sink, closeM: func() {}, unlock: func() {}}
	r.res = Result{Disk: p.Disk.ID, Target: p.Target, Mount: p.Options.Mount, Mapper: filepath.Join(in.Sys.Dev, "mapper", p.Options.Name)}
	if p.Options.WholeDisk {
		r.res.Target = filepath.Join(in.Sys.Dev, filepath.Base(p.Disk.Path))
	}
	defer r.finish()
	for _, st := range p.Steps {
		if err := ctx.Err(); err != nil {
			sink.emit(Event{Step: st.Name, Kind: EventFailed, Err: err})
			return nil, fmt.Errorf("%s: %w", st.Name, err)
		}
		sink.emit(Event{Step: st.Name, Kind: EventStarted, Message: st.Detail})
		t0 := in.now()
		msg, err := r.step(ctx, st.Name)
		if err != nil {
			sink.emit(Event{Step: st.Name, Kind: EventFailed, Err: err})
			in.Sys.log().Debug("install step failed", "step", st.Name, "err", err)
			return nil, err
		}
		if err := r.completed(st.Name); err != nil {
			sink.emit(Event{Step: st.Name, Kind: EventFailed, Err: err})
			return nil, err
		}
		in.Sys.log().Debug("install step done", "step", st.Name, "result", msg)
		sink.emit(Event{Step: st.Name, Kind: EventDone, Message: msg, ElapsedSecs: in.now().Sub(t0).Seconds()})
	}
	r.opened = false // a finished install stays open and mounted
	r.res.Seconds = in.now().Sub(start).Seconds()
	return &r.res, nil
}

func (in *Installer) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (r *run) step(ctx context.Context, s StepName) (string, error) {
	switch s {
	case StepGuard:
		return r.guard(ctx)
	case StepCleanup:
		return r.cleanup()
	case StepWipe:
		return r.wipe(ctx)
	case StepPartition:
		return r.partition(ctx)
	case StepFormat:
		msg, err := r.format()
		if err == nil && r.p.Options.WholeDisk && r.isBlock() {
			// Partitions the kernel knew from an older table would
			// linger beside the new header.
			if err := r.sys.rereadPartitions(ctx, r.res.Target); err != nil {
				r.sys.log().Debug("reread partitions after formatting the whole disk", "err", err)
			}
		}
		return msg, err
	case StepOpen:
		return r.open()
	case StepMkfs:
		return r.mkfs(ctx)
	case StepMount:
		return r.mount()
	case StepConfigure:
		return r.configure()
	case StepHandoff:
		return r.handoff(ctx)
	}
	return "", fmt.Errorf("install: unknown step %q", s)
}

// completed records a finished step in the state file; after configure the
// install is done and the state file goes.
func (r *run) completed(s StepName) error {
	switch s {
	case StepGuard, StepCleanup:
		return nil
	case StepConfigure, StepHandoff:
		if err := os.Remove(r.sys.StatePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove install state: %w", err)
		}
		return nil
	}
	r.state.Completed = append(r.state.Completed, s)
	return saveState(r.sys.StatePath(), r.state)
}

// begin makes the state file before the first write to the disk.
func (r *run) begin() error {
	if r.state != nil {
		return nil
	}
	o := r.p.Options
	r.state = &State{Disk: r.p.Disk.ID, Dev: r.p.Disk.Dev, Name: o.Name, Mount: o.Mount, WipeMode: string(o.Wipe)}
	if rs := r.p.Resume; rs != nil && rs.WipeMode == string(o.Wipe) {
		r.state.WipeDone = rs.WipeDone
		if rs.Has(StepWipe) {
			r.state.Completed = []StepName{StepWipe}
		}
	}
	return saveState(r.sys.StatePath(), r.state)
}

// finish runs when Apply returns: it forgets the volume key and, if a step
// failed after this run opened the volume, unmounts and closes it so that
// nothing stays busy.
func (r *run) finish() {
	clear(r.vk)
	if r.opened {
		_ = r.sys.Mounter.Unmount(r.p.Options.Mount)
		if r.sys.Mapper != nil {
			_ = r.sys.Mapper.Remove(r.p.Options.Name)
		}
	}
	r.closeM()
	r.unlock()
}

// guard lists the disks again and re-plans on the fresh facts: the disk
// must be the same one and still allowed.
func (r *run) guard(ctx context.Context) (string, error) {
	if r.sys.Discover == nil {
		return "", errors.New("guard: no disk discovery")
	}
	ds, err := r.sys.Discover(ctx)
	if err != nil {
		return "", fmt.Errorf("guard: %w", err)
	}
	var d *disk.Disk
	for i := range ds {
		if ds[i].ID == r.p.Disk.ID && ds[i].Dev == r.p.Disk.Dev {
			d = &ds[i]
		}
	}
	if d == nil {
		return "", fmt.Errorf("guard: %s (%s) is gone or changed since the plan was made", r.p.Disk.ID, r.p.Disk.Dev)
	}
	if _, err := NewPlan(r.p.Options, *d, r.p.Replaces, r.p.Resume); err != nil {
		return "", fmt.Errorf("guard: %w", err)
	}
	return fmt.Sprintf("%s (%s) is still eligible", d.ID, d.Path), nil
}

func (r *run) cleanup() (string, error) {
	for _, m := range r.p.Unmount {
		if err := r.sys.Mounter.Unmount(m); err != nil {
			return "", fmt.Errorf("cleanup: %w", err)
		}
	}
	if len(r.p.Close) > 0 {
		if err := r.mapper(); err != nil {
			return "", err
		}
	}
	for _, n := range r.p.Close {
		if err := r.sys.Mapper.Remove(n); err != nil {
			return "", fmt.Errorf("cleanup: close %s: %w", n, err)
		}
	}
	return fmt.Sprintf("unmounted %d, closed %d", len(r.p.Unmount), len(r.p.Close)), nil
}

func (r *run) isBlock() bool {
	st, err := os.Stat(r.res.Target)
	return err == nil && st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
}

func (r *run) mapper() error {
	if r.sys.Mapper != nil {
		return nil
	}
	closeM, err := r.sys.OpenMapper()
	if err != nil {
		return fmt.Errorf("open device-mapper: %w", err)
	}
	r.closeM = closeM
	return nil
}

func (r *run) wipe(ctx context.Context) (string, error) {
	if err := r.begin(); err != nil {
		return "", err
	}
	path := filepath.Join(r.sys.Dev, filepath.Base(r.p.Disk.Path))
	t, err := wipe.Open(path)
	if err != nil {
		return "", fmt.Errorf("wipe: %w", err)
	}
	defer t.Close()
	if r.state.WipeDone >= t.Size {
		// A run stopped after its wipe wrote the last byte and before the
		// step was on record.
		r.state.WipeDone = t.Size
		return fmt.Sprintf("%s wipe of %s finished by an earlier run", r.p.Options.Wipe, disk.Size(uint64(t.Size))), nil
	}
	o := wipe.Options{Mode: r.p.Options.Wipe, Offset: r.state.WipeDone, Log: r.sys.Log}
	o.Progress = func(e wipe.Event) {
		r.sink.emit(Event{Step: StepWipe, Kind: EventProgress, Message: e.Phase, Done: e.BytesDone, Total: e.BytesTotal, RatePerSec: e.RateBytesPerSec, ETASeconds: e.ETASeconds})
		if e.Offset > r.state.WipeDone {
			r.state.WipeDone = e.Offset
			_ = saveState(r.sys.StatePath(), r.state)
		}
	}
	sum, err := wipe.Run(ctx, t, o)
	if err != nil {
		var se *wipe.StopError
		if errors.As(err, &se) {
			r.state.WipeDone = se.Resume
			_ = saveState(r.sys.StatePath(), r.state)
		}
		return "", fmt.Errorf("wipe: %w", err)
	}
	r.state.WipeDone = t.Size
	return fmt.Sprintf("%s wiped %s in %.1fs (%s/s)", sum.Mode, disk.Size(uint64(sum.Bytes)), sum.Seconds, disk.Size(uint64(sum.RateBytesPerSec))), nil
}

func (r *run) partition(ctx context.Context) (string, error) {
	if err := r.begin(); err != nil {
		return "", err
	}
	node, unlock, err := r.sys.partition(ctx, r.p.Disk)
	if err != nil {
		return "", err
	}
	r.unlock = unlock
	r.res.Target = node
	return fmt.Sprintf("GPT with partition 1 (Linux LUKS) at %s", node), nil
}
