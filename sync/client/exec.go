package client

import (
	"context"
	"errors"
	"log/slog"
	gosync "sync"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// executor carries out a plan, phase by phase (see core.Op), on both
// sides at once: the local folder's actions on a small pool (system calls
// and disk), the server's on a larger one (many requests in flight over
// one connection, so 10,000 small files are not 10,000 round trips).
type executor struct {
	remote Remote
	base   string // the server's folder, relative to the user's root
	local  *local
	log    *slog.Logger

	localWorkers, remoteWorkers int

	mu      gosync.Mutex
	sent    int64
	recv    int64
	touched map[string]bool   // local directories to fsync at the end
	modes   map[string]uint32 // local directories' final modes, set at the end
}

func newExecutor(r Remote, base string, root *rootfs.Root, scanOpt scan.Options, lw, rw int, log *slog.Logger) *executor {
	x := &executor{remote: r, base: base, log: log, localWorkers: lw, remoteWorkers: rw,
		touched: map[string]bool{}, modes: map[string]uint32{}}
	x.local = &local{root: root, ex: x}
	for range lw {
		x.local.scanners = append(x.local.scanners, scan.New(root, scanOpt))
	}
	return x
}

func (x *executor) count(ts TransferStats) {
	x.mu.Lock()
	x.sent += ts.Sent
	x.recv += ts.Received
	x.mu.Unlock()
}

func (x *executor) touch(dir string) {
	x.mu.Lock()
	x.touched[dir] = true
	x.mu.Unlock()
}

func (x *executor) deferMode(dir string, mode uint32) {
	x.mu.Lock()
	x.modes[dir] = mode
	x.mu.Unlock()
}

// outcome is what became of a plan: the actions that succeeded on each
// side, how many raced (left for the next run) and the other failures.
type outcome struct {
	local, remote []core.Action
	raced         int
	failed        []error
}

// run executes the plan and returns what succeeded.
func (x *executor) run(ctx context.Context, p core.Plan) outcome {
	var out outcome
	for phase := core.OpAside.Phase(); phase <= core.OpSetMeta.Phase(); phase++ {
		la, ra := inPhase(p.Local, phase), inPhase(p.Remote, phase)
		var lerrs, rerrs []error
		var wg gosync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			lerrs = runPhase(ctx, la, x.localWorkers, func(w int, a core.Action) error { return x.local.do(ctx, w, a) })
		}()
		go func() {
			defer wg.Done()
			rerrs = runPhase(ctx, ra, x.remoteWorkers, func(_ int, a core.Action) error { return x.doRemote(ctx, a) })
		}()
		wg.Wait()
		out.local = x.collect(&out, core.Local, la, lerrs, out.local)
		out.remote = x.collect(&out, core.Remote, ra, rerrs, out.remote)
		if ctx.Err() != nil {
			break
		}
	}
	x.finish(&out)
	return out
}

// collect appends the actions that succeeded to done and counts the rest.
func (x *executor) collect(out *outcome, side core.Side, acts []core.Action, errs []error, done []core.Action) []core.Action {
	for i, a := range acts {
		switch err := errs[i]; {
		case err == nil:
			done = append(done, a)
		case isRace(err):
			out.raced++
			x.log.Info("left for the next run", "side", side, "action", a.Op, "path", a.Path, "why", err)
		case errors.Is(err, errDependency):
			out.raced++
		default:
			out.failed = append(out.failed, err)
			x.log.Warn("failed", "side", side, "action", a.Op, "path", a.Path, "err", err)
		}
	}
	return done
}

// finish sets the deferred directory modes and fsyncs every local
// directory an entry was renamed into or out of, so that the ancestor
// saved next never claims a state the disk could still lose.
func (x *executor) finish(out *outcome) {
	for d, m := range x.modes {
		if err := x.local.root.SetAttrs(d, rootfs.Attrs{SetMode: true, Mode: m}); err != nil && !errors.Is(err, unix.ENOENT) {
			out.failed = append(out.failed, wrapOp("chmod", d, err))
		}
	}
	for d := range x.touched {
		if d == "" {
			d = "/"
		}
		f, err := x.local.root.OpenFile(d, unix.O_RDONLY|unix.O_DIRECTORY, 0, false)
		if err != nil {
			continue // gone since: nothing to make durable
		}
		if err := f.Sync(); err != nil {
			out.failed = append(out.failed, wrapOp("sync", d, err))
		}
		f.Close()
	}
}

func inPhase(acts []core.Action, phase int) []core.Action {
	var out []core.Action
	for _, a := range acts {
		if a.Op.Phase() == phase {
			out = append(out, a)
		}
	}
	return out
}

// raceErrors are the errors that mean "the state is not what the plan
// expected": the action is left for the next run, nothing is lost.
var raceErrors = []error{errRaced, proto.ErrConflict}

func isRace(err error) bool {
	for _, r := range raceErrors {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}
