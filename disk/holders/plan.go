package holders

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Action is what to do with one holder process.
type Action string

// Actions a user may choose per process.
const (
	ActionStop Action = "stop" // SIGTERM (or stop its unit); SIGKILL after the grace time only if allowed
	ActionKill Action = "kill" // SIGTERM, then SIGKILL after the grace time
	ActionSkip Action = "skip" // leave it alone (the device likely stays busy)
)

// Kinds of Step, in the order Plan emits them.
const (
	StepStopUnit = "stop-unit"   // systemctl stop UNIT
	StepSignal   = "signal"      // SIGTERM through a pidfd, wait, maybe SIGKILL
	StepSwapoff  = "swapoff"     // swapoff PATH
	StepUnmount  = "unmount"     // umount MOUNTPOINT in a namespace (never lazily)
	StepLoop     = "detach-loop" // losetup -d
	StepRemoveDM = "remove-dm"   // remove a stacked device-mapper device
	StepStopMD   = "stop-md"     // mdadm --stop
	StepClose    = "close"       // remove the mapping itself
)

// Step is one thing to do. Only the fields of its kind are set.
type Step struct {
	Kind string `json:"kind"`
	// signal and stop-unit
	PIDs      []int    `json:"pids,omitempty"`
	StartTime []uint64 `json:"-"` // per pid, to recognise the same process through a pidfd
	Commands  []string `json:"commands,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	Kill      bool     `json:"kill,omitempty"` // SIGKILL after the grace time without asking
	// unmount
	MountPoint string `json:"mount_point,omitempty"`
	Namespace  uint64 `json:"mount_ns,omitempty"`
	NSPID      int    `json:"ns_pid,omitempty"` // a process in the namespace, to enter it through
	Initial    bool   `json:"current_ns,omitempty"`
	// swapoff
	Path string `json:"path,omitempty"`
	// detach-loop, remove-dm, stop-md, close
	Name     string `json:"name,omitempty"`
	Deferred bool   `json:"deferred,omitempty"` // close: fall back to a deferred remove
}

// String describes the step in one line.
func (s Step) String() string {
	switch s.Kind {
	case StepStopUnit:
		return fmt.Sprintf("stop unit %s (pids %s)", s.Unit, pidList(s.PIDs, 8))
	case StepSignal:
		then := "then report it if still running"
		if s.Kill {
			then = "then SIGKILL"
		}
		return fmt.Sprintf("SIGTERM pid %d (%s), wait, %s", s.PIDs[0], shorten(s.Commands[0], 40), then)
	case StepUnmount:
		where := "this namespace"
		if !s.Initial {
			where = fmt.Sprintf("mount namespace %d (via pid %d)", s.Namespace, s.NSPID)
		}
		return fmt.Sprintf("unmount %s in %s", s.MountPoint, where)
	case StepSwapoff:
		return "swapoff " + s.Path
	case StepLoop:
		return "detach loop device " + s.Name
	case StepRemoveDM:
		return "remove device-mapper device " + s.Name
	case StepStopMD:
		return "stop md device " + s.Name
	case StepClose:
		if s.Deferred {
			return "close mapping " + s.Name + " (deferred if still busy)"
		}
		return "close mapping " + s.Name
	}
	return s.Kind
}

// PlanOptions say how to stop the holders.
type PlanOptions struct {
	Mapping string // device-mapper name to close last; empty to close nothing
	Self    int    // the caller's pid: never signalled
	// Protect are pids never signalled either, e.g. the caller's parent
	// shell: the plan tells the user to free them by hand.
	Protect  []int
	Kill     bool // SIGKILL what is still running after the grace time
	Deferred bool // fall back to a deferred remove of the mapping
	Systemd  bool // systemd runs: stop .service units instead of signalling their processes
	// Choices override the action per pid (from the interactive screen).
	Choices map[int]Action
	Grace   time.Duration
}

// Plan is the ordered steps that free a device, and what it cannot do.
type Plan struct {
	Steps []Step `json:"steps"`
	// Manual lists what the plan leaves to the user, e.g. a unit to stop
	// when systemd is not running, or a kernel user.
	Manual []string      `json:"manual"`
	Grace  time.Duration `json:"grace_ns"`
}

// ErrRootFilesystem is returned by MakePlan for a device that holds the
// root filesystem: every process would be a holder.
var ErrRootFilesystem = errors.New("it holds the root filesystem; stopping its holders would stop the system")

// MakePlan orders the teardown of everything in r: stop holder processes
// (by unit or by signal), then, from the top of the device stack down, swap
// off, unmount in every namespace (other namespaces first, inner mount
// points first) and remove the stacked devices of each level; the mapping
// itself comes last. It refuses, with ErrRootFilesystem, when r holds the
// root filesystem of the scanner's own mount namespace.
func MakePlan(r Report, o PlanOptions) (Plan, error) {
	if r.HoldsRoot() {
		return Plan{}, fmt.Errorf("free %s: %w", r.Target, ErrRootFilesystem)
	}
	p := Plan{Steps: []Step{}, Manual: []string{}, Grace: o.Grace}
	p.processSteps(r, o)
	depth := deviceDepths(r)
	maxDepth := 0
	for _, d := range depth {
		maxDepth = max(maxDepth, d)
	}
	for d := maxDepth; d >= 0; d-- {
		for _, s := range r.Swaps {
			if depth[s.Dev] == d {
				p.Steps = append(p.Steps, Step{Kind: StepSwapoff, Path: s.Path})
			}
		}
		p.unmountSteps(r, func(m Mount) bool {
			if m.Submount {
				return depth[m.Under] == d // before the mount it sits in
			}
			return depth[m.Dev] == d
		})
		if d > 0 {
			p.removeSteps(r, d, depth)
		}
	}
	for _, k := range r.Kernel {
		p.Manual = append(p.Manual, "release the kernel's hold: "+k)
	}
	if o.Mapping != "" {
		p.Steps = append(p.Steps, Step{Kind: StepClose, Name: o.Mapping, Deferred: o.Deferred})
	}
	return p, nil
}

// deviceDepths gives each device of the report its level above the target:
// 0 for the target, 1 for what is stacked right on it or a loop backed by a
// file on it, and so on.
func deviceDepths(r Report) map[Dev]int {
	depth := map[Dev]int{r.Dev: 0}
	for changed := true; changed; {
		changed = false
		for _, s := range r.Stacked {
			if d, ok := depth[s.On]; ok && depth[s.Dev] < d+1 {
				depth[s.Dev], changed = d+1, true
			}
		}
		for _, l := range r.Loops {
			if d, ok := depth[l.On]; ok && depth[l.Dev] < d+1 {
				depth[l.Dev], changed = d+1, true
			}
		}
	}
	return depth
}

func (p *Plan) processSteps(r Report, o PlanOptions) {
	units := map[string]int{} // unit -> index of its step
	for _, pr := range r.Processes {
		act := o.Choices[pr.PID]
		if act == "" {
			act = ActionStop
		}
		switch {
		case pr.PID == o.Self:
			continue
		case pr.OnlyMountNS():
			continue // unmounting in its namespace frees the device
		case act == ActionSkip:
			p.Manual = append(p.Manual, fmt.Sprintf("pid %d (%s) was skipped and still holds %s", pr.PID, pr.Command, HoldSummary(pr.Holds)))
			continue
		case pr.PID == 1:
			p.Manual = append(p.Manual, fmt.Sprintf("pid 1 (%s) holds %s; init is never signalled", pr.Command, HoldSummary(pr.Holds)))
			continue
		case slices.Contains(o.Protect, pr.PID):
			p.Manual = append(p.Manual, fmt.Sprintf("pid %d (%s), which started this command, holds %s; free it yourself (cd out of it)", pr.PID, pr.Command, HoldSummary(pr.Holds)))
			continue
		}
		if strings.HasSuffix(pr.Unit, ".service") {
			if o.Systemd {
				if i, ok := units[pr.Unit]; ok {
					p.Steps[i].PIDs = append(p.Steps[i].PIDs, pr.PID)
					p.Steps[i].StartTime = append(p.Steps[i].StartTime, pr.StartTime)
					p.Steps[i].Commands = append(p.Steps[i].Commands, pr.Command)
					continue
				}
				units[pr.Unit] = len(p.Steps)
				p.Steps = append(p.Steps, Step{Kind: StepStopUnit, Unit: pr.Unit, PIDs: []int{pr.PID},
					StartTime: []uint64{pr.StartTime}, Commands: []string{pr.Command}, Kill: o.Kill || act == ActionKill})
				continue
			}
			p.Manual = append(p.Manual, fmt.Sprintf("pid %d belongs to %s: stop the unit (systemctl stop %s) or it may be restarted", pr.PID, pr.Unit, pr.Unit))
		}
		p.Steps = append(p.Steps, Step{Kind: StepSignal, PIDs: []int{pr.PID}, StartTime: []uint64{pr.StartTime},
			Commands: []string{pr.Command}, Unit: pr.Unit, Kill: o.Kill || act == ActionKill})
	}
}

// unmountSteps unmounts the mounts that keep: other namespaces before the
// caller's, and within one namespace inner mount points before outer ones.
func (p *Plan) unmountSteps(r Report, keep func(Mount) bool) {
	var ms []Mount
	for _, m := range r.Mounts {
		if keep(m) {
			ms = append(ms, m)
		}
	}
	slices.SortStableFunc(ms, func(a, b Mount) int {
		if a.Initial != b.Initial {
			if a.Initial {
				return 1
			}
			return -1
		}
		if a.Namespace != b.Namespace {
			return cmpUint(a.Namespace, b.Namespace)
		}
		if n := strings.Count(b.MountPoint, "/") - strings.Count(a.MountPoint, "/"); n != 0 {
			return n
		}
		return b.ID - a.ID // the later of two mounts on one mount point first
	})
	for _, m := range ms {
		if !m.Initial && len(m.PIDs) == 0 {
			p.Manual = append(p.Manual, fmt.Sprintf("%s is mounted in namespace %d, which no process lives in (a bind mount or open fd of the namespace keeps it)", m.MountPoint, m.Namespace))
			continue
		}
		st := Step{Kind: StepUnmount, MountPoint: m.MountPoint, Namespace: m.Namespace, Initial: m.Initial}
		if !m.Initial {
			st.NSPID = m.PIDs[0]
		}
		p.Steps = append(p.Steps, st)
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// removeSteps removes the stacked devices and loops at depth d.
func (p *Plan) removeSteps(r Report, d int, depth map[Dev]int) {
	for _, l := range r.Loops {
		if depth[l.Dev] == d {
			p.Steps = append(p.Steps, Step{Kind: StepLoop, Name: l.Name})
		}
	}
	for _, s := range r.Stacked {
		if depth[s.Dev] != d {
			continue
		}
		switch s.Kind {
		case StackedDM:
			p.Steps = append(p.Steps, Step{Kind: StepRemoveDM, Name: s.DMName})
		case StackedMD:
			p.Steps = append(p.Steps, Step{Kind: StepStopMD, Name: s.Name})
		case "partition":
			// nothing to remove: its mounts are gone
		default:
			p.Manual = append(p.Manual, fmt.Sprintf("%s (%s) is stacked on %s and is not a kind simplecloud can remove", s.Name, s.Dev, s.On))
		}
	}
}

// WritePlan prints the plan for people, one numbered step a line.
func WritePlan(w io.Writer, p Plan) {
	for i, s := range p.Steps {
		fmt.Fprintf(w, "%2d. %s\n", i+1, s)
	}
	for _, m := range p.Manual {
		fmt.Fprintf(w, "manual: %s\n", m)
	}
}
