package holders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// MappingCloser removes device-mapper devices by name. The luks/dm
// layer's *Control satisfies it; disk packages may not import it, so the
// command passes it in.
type MappingCloser interface {
	Remove(name string) error
	RemoveDeferred(name string) error
}

// Proc is a process pinned by a pidfd: signals reach that process or
// nothing, never a later process that reuses its PID.
type Proc interface {
	Signal(sig syscall.Signal) error
	// Wait waits until the process exits or ctx ends; it reports whether
	// the process exited.
	Wait(ctx context.Context) bool
	Close() error
}

// ErrGone means a process exited (or its PID now belongs to another
// process) before it could be pinned.
var ErrGone = errors.New("process is gone")

// Ops is what Apply does to the system. LinuxOps is the real one; tests
// may substitute fakes. Methods are called from one goroutine.
type Ops interface {
	// OpenProcess pins pid, checking that it is still the process that
	// started at start (field 22 of /proc/PID/stat); ErrGone if not.
	OpenProcess(pid int, start uint64) (Proc, error)
	StopUnit(ctx context.Context, unit string) error
	// Unmount unmounts mountPoint (never lazily) in the caller's namespace
	// or, when initial is false, in namespace ns, entered through nsPID.
	Unmount(mountPoint string, initial bool, ns uint64, nsPID int) error
	Swapoff(path string) error
	DetachLoop(name string) error
	StopMD(ctx context.Context, name string) error
}

// Outcome is what became of one step.
type Outcome struct {
	Step   Step   `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"` // e.g. "exited after SIGTERM", "killed", "deferred"
	Err    string `json:"error,omitempty"`
}

// Result is what Apply did.
type Result struct {
	Outcomes []Outcome `json:"outcomes"`
	// MappingGone is true when the mapping was removed; Deferred when a
	// deferred remove was armed instead.
	MappingGone bool `json:"mapping_gone"`
	Deferred    bool `json:"deferred"`
}

// OK reports whether every step succeeded.
func (r Result) OK() bool {
	for _, o := range r.Outcomes {
		if !o.OK {
			return false
		}
	}
	return true
}

// Applier carries out a plan.
type Applier struct {
	Ops     Ops
	Mapping MappingCloser // needed when the plan closes a mapping
	// ConfirmKill is asked, when a step does not allow SIGKILL, whether to
	// kill processes still running after the grace time. Nil means no.
	ConfirmKill func(pids []int, commands []string) bool
	// Progress, if set, is called after each step.
	Progress func(Outcome)
	Log      *slog.Logger
}

// Apply runs the steps in order. A failing step does not stop the ones
// after it (each of them only releases something); the result tells what
// failed.
func (a *Applier) Apply(ctx context.Context, p Plan) Result {
	var res Result
	for _, st := range p.Steps {
		o := Outcome{Step: st}
		var err error
		switch st.Kind {
		case StepSignal:
			o.Detail, err = a.stopProcesses(ctx, st, p.Grace, nil)
		case StepStopUnit:
			o.Detail, err = a.stopProcesses(ctx, st, p.Grace, func() error { return a.Ops.StopUnit(ctx, st.Unit) })
		case StepUnmount:
			err = a.Ops.Unmount(st.MountPoint, st.Initial, st.Namespace, st.NSPID)
		case StepSwapoff:
			err = a.Ops.Swapoff(st.Path)
		case StepLoop:
			err = a.Ops.DetachLoop(st.Name)
		case StepStopMD:
			err = a.Ops.StopMD(ctx, st.Name)
		case StepRemoveDM, StepClose:
			o.Detail, err = a.removeDM(st)
			if st.Kind == StepClose {
				res.MappingGone = err == nil && o.Detail != "deferred"
				res.Deferred = err == nil && o.Detail == "deferred"
			}
		default:
			err = fmt.Errorf("unknown step kind %q", st.Kind)
		}
		o.OK = err == nil
		if err != nil {
			o.Err = err.Error()
		}
		if a.Log != nil {
			a.Log.Debug("step", "step", st.String(), "ok", o.OK, "detail", o.Detail, "error", o.Err)
		}
		if a.Progress != nil {
			a.Progress(o)
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	return res
}

func (a *Applier) removeDM(st Step) (string, error) {
	if a.Mapping == nil {
		return "", errors.New("remove device-mapper device: no device-mapper control given")
	}
	err := a.Mapping.Remove(st.Name)
	if err == nil {
		return "removed", nil
	}
	if st.Kind == StepClose && st.Deferred {
		if derr := a.Mapping.RemoveDeferred(st.Name); derr == nil {
			return "deferred", nil
		}
	}
	return "", fmt.Errorf("remove %s: %w", st.Name, err)
}

// stopProcesses pins the step's processes, asks them to stop (SIGTERM, or
// through stop when it is a unit), waits up to grace and then kills what is
// left if the step or ConfirmKill allows it.
func (a *Applier) stopProcesses(ctx context.Context, st Step, grace time.Duration, stop func() error) (string, error) {
	var procs []Proc
	var live []int
	var cmds []string
	for i, pid := range st.PIDs {
		pr, err := a.Ops.OpenProcess(pid, st.StartTime[i])
		if errors.Is(err, ErrGone) {
			continue
		} else if err != nil {
			return "", fmt.Errorf("pin pid %d: %w", pid, err)
		}
		defer pr.Close()
		procs = append(procs, pr)
		live = append(live, pid)
		cmds = append(cmds, st.Commands[i])
	}
	if len(procs) == 0 {
		return "already gone", nil
	}
	how := "exited after SIGTERM"
	if stop != nil {
		how = "unit stopped"
		if err := stop(); err != nil {
			// Fall back to signals: the unit may be gone or systemd busy.
			how = fmt.Sprintf("stopping the unit failed (%v); exited after SIGTERM", err)
			stop = nil
		}
	}
	if stop == nil {
		for i, pr := range procs {
			if err := pr.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
				return "", fmt.Errorf("send SIGTERM to pid %d: %w", live[i], err)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, grace)
	left, leftPIDs, leftCmds := waitAll(wctx, procs, live, cmds)
	cancel()
	if len(left) == 0 {
		return how, nil
	}
	if !st.Kill && (a.ConfirmKill == nil || !a.ConfirmKill(leftPIDs, leftCmds)) {
		return "", fmt.Errorf("pids %v still running after %v (use --kill to send SIGKILL)", leftPIDs, grace)
	}
	for i, pr := range left {
		if err := pr.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return "", fmt.Errorf("send SIGKILL to pid %d: %w", leftPIDs[i], err)
		}
	}
	kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if still, stillPIDs, _ := waitAll(kctx, left, leftPIDs, leftCmds); len(still) > 0 {
		return "", fmt.Errorf("pids %v survive SIGKILL (stuck in the kernel?)", stillPIDs)
	}
	return "killed after the grace time", nil
}

// waitAll waits for every process until ctx ends and returns those still
// running.
func waitAll(ctx context.Context, procs []Proc, pids []int, cmds []string) ([]Proc, []int, []string) {
	var left []Proc
	var leftPIDs []int
	var leftCmds []string
	for i, pr := range procs {
		if !pr.Wait(ctx) {
			left = append(left, pr)
			leftPIDs = append(leftPIDs, pids[i])
			leftCmds = append(leftCmds, cmds[i])
		}
	}
	return left, leftPIDs, leftCmds
}
