package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
)

// deleteGrace is how many deletes a side may take whatever their share
// of its files (core.Limits.Grace): deleting two of three files is a
// person tidying up, not an unmounted disk.
const deleteGrace = 3

// RunOnce brings the local folder and the server's into step once:
// scan and list both (at once), reconcile with the ancestor, refuse what
// looks unsafe (a missing local folder, one on another file system than
// last time, an empty side where the ancestor had files, too many
// deletes), execute the plan phase by phase with compare-and-swap on both
// sides, and save the new ancestor. Summary.Converged says both sides
// ended up equal. An error means nothing was changed (a refusal), or that
// some actions failed (the summary says what was done).
func RunOnce(ctx context.Context, r Remote, o Options) (Summary, error) {
	o.defaults()
	key := StateKey{Local: o.Local, Server: o.Server, Remote: o.Remote}
	path := StatePath(o.StateDir, key)
	st, had, err := LoadState(path, key)
	if errors.Is(err, ErrBadState) {
		o.Logger.Warn("ignoring the last sync's state; this run merges without deleting anything", "err", err)
	} else if err != nil {
		return Summary{}, err
	}
	root, err := openLocal(&o, st, had)
	if err != nil {
		return Summary{}, err
	}
	var id FSID
	if root != nil {
		defer root.Close()
		if id, err = rootFSID(root); err != nil {
			return Summary{}, fmt.Errorf("identify the local folder's file system: %w", err)
		}
		if had && st.Ancestor.Len() > 0 && !st.FS.Same(id) {
			if !o.Force {
				return Summary{}, fmt.Errorf("%w (%s): is the right disk mounted? Nothing was changed; --force syncs it anyway, merging without deleting anything", ErrOtherFS, o.Local)
			}
			o.Logger.Warn("the local folder is on another file system than at the last sync; merging without deleting anything (--force)")
			st.Ancestor = core.Tree{}
		}
	}
	return run(ctx, r, &o, root, st, path, id)
}

func run(ctx context.Context, r Remote, o *Options, root *rootfs.Root, st State, path string, id FSID) (Summary, error) {
	anc := st.Ancestor
	loc, rem, remoteMissing, err := snapshots(ctx, r, o, root, anc)
	if err != nil {
		return Summary{}, err
	}
	ig, err := buildIgnore(ctx, r, o, root, loc.tree, rem.tree)
	if err != nil {
		return Summary{}, err
	}
	hold := holdSet{}
	hold.add(loc.held)
	hold.add(rem.held)
	ancF, locF, remF := hold.filter(anc), hold.filter(loc.tree), hold.filter(rem.tree)
	copts := core.Options{Now: o.Now(), LocalHost: o.LocalHost, RemoteHost: o.RemoteHost, Ignore: ig}
	plan := core.Reconcile(ancF, locF, remF, copts)
	sum := Summary{Conflicts: len(plan.Conflicts), Held: len(hold)}
	lim := core.Limits{MaxDeletePercent: o.MaxDeletePercent, Grace: deleteGrace, Force: o.Force}
	if err := core.SafetyCheck(ancF, locF, remF, &plan, lim); err != nil {
		return sum, fmt.Errorf("%w: %w; nothing was changed", ErrUnsafe, err)
	}
	if o.DryRun {
		printPlan(o.Plan, plan)
		sum.count(plan)
		sum.Converged = plan.Empty()
		return sum, nil
	}
	if remoteMissing && len(plan.Remote) > 0 {
		if err := mkdirAll(ctx, r, o.Remote); err != nil {
			return sum, err
		}
	}
	x := newExecutor(r, o.Remote, root, o.scanOptions(), o.LocalWorkers, o.RemoteWorkers, o.Logger)
	out := x.run(ctx, plan)
	sum.count(core.Plan{Local: out.local, Remote: out.remote})
	sum.BytesSent, sum.BytesReceived = x.sent, x.recv
	sum.Raced, sum.Failed = out.raced, len(out.failed)

	local2, lerr := core.Apply(locF, out.local)
	remote2, rerr := core.Apply(remF, out.remote)
	if err := errors.Join(lerr, rerr); err != nil {
		// Cannot happen with a correct executor; keeping the old
		// ancestor is safe (the next run sees the changes as changes).
		o.Logger.Warn("the plan's model disagrees with what was done; keeping the last state", "err", err)
		return sum, failures(out.failed)
	}
	next := core.Settle(ancF, local2, remote2)
	if next, err = hold.restore(next, anc); err != nil {
		return sum, fmt.Errorf("record the new state: %w", err)
	}
	if err := SaveState(path, State{Key: st.Key, FS: id, Ancestor: next}); err != nil {
		return sum, err
	}
	again := core.Reconcile(next, local2, remote2, copts)
	sum.Converged = out.raced == 0 && len(out.failed) == 0 && len(hold) == 0 && again.Empty() &&
		x.verify(ctx, out, local2, remote2)
	return sum, failures(out.failed)
}

// count fills the summary's counts from the actions of p.
func (s *Summary) count(p core.Plan) {
	l, r := p.Counts(core.Local), p.Counts(core.Remote)
	s.Downloaded, s.Uploaded = l.Written, r.Written
	s.DeletedLocal, s.DeletedRemote = l.Deleted, r.Deleted
	s.MovedLocal, s.MovedRemote = l.Moved, r.Moved
}

func failures(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%d actions failed, the first: %w", len(errs), errs[0])
}

// printPlan writes the plan as --dry-run shows it.
func printPlan(w io.Writer, p core.Plan) {
	for _, c := range p.Conflicts {
		fmt.Fprintf(w, "conflict %s: the %v side's version stays, the other is kept as %s\n", c.Path, c.Winner, c.Copy)
	}
	for _, a := range p.Local {
		fmt.Fprintf(w, "local  %v\n", a)
	}
	for _, a := range p.Remote {
		fmt.Fprintf(w, "remote %v\n", a)
	}
	if p.Empty() {
		fmt.Fprintln(w, "nothing to do")
	}
}

// rootFSID returns the identity of the local folder's file system.
func rootFSID(root *rootfs.Root) (FSID, error) {
	f, err := root.OpenFile("/", os.O_RDONLY, 0, false)
	if err != nil {
		return FSID{}, err
	}
	defer f.Close()
	return fsidOf(int(f.Fd()))
}

// buildIgnore collects the .simplecloudignore files of both sides (a
// file both hold with one content is read once).
func buildIgnore(ctx context.Context, r Remote, o *Options, root *rootfs.Root, loc, rem core.Tree) (*core.Ignore, error) {
	ig := &core.Ignore{}
	seen := map[string]core.Digest{}
	for p, e := range loc.All() {
		if e.Kind != core.File || core.Base(p) != core.IgnoreFile {
			continue
		}
		data, err := readLocal(root, p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		ig.Add(core.Parent(p), data)
		seen[p] = e.Hash
	}
	for p, e := range rem.All() {
		if e.Kind != core.File || core.Base(p) != core.IgnoreFile {
			continue
		}
		if h, ok := seen[p]; ok && h == e.Hash {
			continue
		}
		data, err := readRemote(ctx, r, remotePath(o.Remote, p), e)
		if err != nil {
			return nil, fmt.Errorf("read the server's %s: %w", p, err)
		}
		ig.Add(core.Parent(p), data)
	}
	return ig, nil
}

// maxIgnoreFile bounds an ignore file read into memory.
const maxIgnoreFile = 1 << 20

func readLocal(root *rootfs.Root, p string) ([]byte, error) {
	f, err := root.OpenFile(p, os.O_RDONLY, 0, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxIgnoreFile))
}

func readRemote(ctx context.Context, r Remote, p string, e core.Entry) ([]byte, error) {
	f, err := os.CreateTemp("", "simplecloud-ignore-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	defer f.Close()
	if _, err := r.Download(ctx, p, proto.Hash(e.Hash), nil, f); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, maxIgnoreFile))
}
