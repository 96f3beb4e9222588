package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/durable"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
	"simplecloud/sync/seal"
)

// Remote is what the engine asks of the server: *remote.Client.
type Remote interface {
	List(ctx context.Context, p string, h proto.HashMode, fn func([]proto.Entry) error) error
	Download(ctx context.Context, p string, want proto.Hash, base, dst *os.File) (remote.TransferStats, error)
	Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o remote.UploadOptions) (proto.Entry, remote.TransferStats, error)
	Mkdir(ctx context.Context, p string, mode uint32, mtime int64) (proto.Entry, error)
	Symlink(ctx context.Context, p, target string, expect proto.Expect) (proto.Entry, error)
	Rename(ctx context.Context, from, to string, expect, expectTo proto.Expect) (proto.Entry, error)
	Delete(ctx context.Context, p string, expect proto.Expect) error
	SetAttr(ctx context.Context, p string, expect proto.Expect, mode uint32, mtime int64) (proto.Entry, error)
	Stat(ctx context.Context, paths []string, h proto.HashMode) ([]proto.Entry, error)
	Flush(ctx context.Context) error
	Stats() remote.Stats
}

// Options configure a sync of one local folder with one server folder.
type Options struct {
	Local      string // the local folder (absolute)
	RemoteName string // [USER@]HOST:PATH, for the state file and messages
	RemotePath string // the folder below the user's root on the server
	StateDir   string // where ancestors live (StateDir())
	Limits     core.Limits
	DryRun     bool
	LocalHost  string // names the hosts in conflict copies
	RemoteHost string
	Workers    int // actions at once (default 128: a server waits on its disk for each)
	Out        io.Writer
	Logger     *slog.Logger
	Progress   *Progress // follows the transfers, if set
	// Key, if set, makes the folder an encrypted one: the server holds
	// only its sealed names and contents (see sealed.go).
	Key *seal.Key

	// afterPlan, if set, runs between planning and executing: the tests'
	// way to change a side in between.
	afterPlan func()
	// synced, if set, gets the local directories fsynced before the
	// ancestor is saved.
	synced func([]string)
}

// Summary is what a run did, as --json prints it.
type Summary struct {
	Uploaded      int   `json:"uploaded"`
	Downloaded    int   `json:"downloaded"`
	DeletedLocal  int   `json:"deleted_local"`
	DeletedRemote int   `json:"deleted_remote"`
	Conflicts     int   `json:"conflicts"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	Converged     bool  `json:"converged"`
	Failed        int   `json:"failed"`  // actions left for the next run
	Skipped       int   `json:"skipped"` // paths whose state was unknown (being written)
}

// ErrUnsafe is wrapped by the errors of a run refused for safety:
// nothing was changed.
var ErrUnsafe = errors.New("refused for safety, nothing changed")

// RunOnce reconciles the folder with the server once: both snapshots, the
// three-way plan against the last agreed state, the safety checks, then
// the plan phase by phase on both sides, each action only if its path is
// still as planned. The new agreed state is saved (unless DryRun).
func RunOnce(ctx context.Context, rc Remote, o Options) (Summary, error) {
	var sum Summary
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 128
	}
	clock := newStopwatch(o.Logger)
	defer clock.done()
	var hasher scan.Hasher
	var sr *sealedRemote
	if o.Key != nil {
		// First of all: a wrong key changes nothing on either side.
		var err error
		if sr, err = sealRemote(ctx, rc, o); err != nil {
			return sum, err
		}
		rc, hasher = sr, sealedHasher{key: o.Key, chunk: sr.chunk}
	}
	// A big run keeps its heap tight from the moment it is known to be
	// big (see gcTuner); the ancestor loads without collections (see hold).
	var gc gcTuner
	defer gc.restore()
	gc.hold()
	statePath := StatePath(o.StateDir, o.Local, o.RemoteName)
	// The local scan needs nothing of the last state but how many entries
	// to expect, which the state file's header tells: in a folder that is
	// there it starts at once, beside the state load and the connection
	// (a new folder is made below, once the state allows, and scanned
	// then). Until the checks below pass it only reads; a run they refuse
	// stops it and waits for it. (The scan index it may have written by
	// then is a cache that every scan checks against the files.)
	lunk := map[string]bool{}
	scanning, err := scanLocal(o, hasher, statePath, lunk, stateCount(statePath), gc.grow)
	if err == nil {
		defer scanning.close()
	}
	st, ancestor, err := loadState(statePath, o.Local, o.RemoteName)
	gc.grow(ancestor.Len())
	clock.lap("load the last state")
	if err != nil {
		o.Logger.Warn("starting without the last sync state: nothing will be deleted this run", "err", err)
		st, ancestor = nil, core.Tree{}
	}
	if sr != nil {
		sr.knownSizes(ancestor)
	}
	fsid, err := localFS(o.Local)
	if errors.Is(err, unix.ENOENT) && ancestor.Len() == 0 && !o.DryRun {
		if err = os.MkdirAll(o.Local, 0o755); err == nil {
			fsid, err = localFS(o.Local)
		}
	}
	if err != nil {
		if errors.Is(err, unix.ENOENT) && ancestor.Len() == 0 {
			return sum, fmt.Errorf("%s does not exist yet: a run without --dry-run makes it and brings the server's folder into it", o.Local)
		}
		if errors.Is(err, unix.ENOENT) {
			return sum, fmt.Errorf("%s does not exist (a disk not mounted?): %w", o.Local, ErrUnsafe)
		}
		return sum, err
	}
	if st != nil && ancestor.Len() > 0 && !st.FS.Same(fsid) {
		if !o.Limits.Force {
			return sum, fmt.Errorf("%s is on another file system than at the last sync (a disk not mounted?); --force syncs it anyway, merging without deleting anything: %w", o.Local, ErrUnsafe)
		}
		o.Logger.Warn("the folder is on another file system than at the last sync; merging without deleting anything (--force)", "folder", o.Local)
		ancestor = core.Tree{}
	}
	if scanning == nil {
		if scanning, err = scanLocal(o, hasher, statePath, lunk, ancestor.Len(), gc.grow); err != nil {
			return sum, err
		}
		defer scanning.close()
	}
	l := scanning.l
	if !o.DryRun {
		if n, err := l.cleanTemp(time.Now()); err != nil {
			o.Logger.Warn("could not remove the temporary files of interrupted runs", "err", err)
		} else if n > 0 {
			o.Logger.Info("removed the temporary files of interrupted runs", "files", n)
		}
	}
	// Both snapshots at once.
	runk := map[string]bool{}
	type listed struct {
		t   core.Tree
		err error
	}
	rch := make(chan listed, 1)
	go func() {
		if d, ok := rc.(*dialing); ok {
			d.get()
			clock.lap("connect (beside the other steps)")
		}
		t, err := listRemote(ctx, rc, o.RemotePath, runk, ancestor)
		clock.lap("list the server's folder")
		if errors.Is(err, proto.ErrNotFound) && !o.DryRun {
			// A first sync into a new folder: make it (its parents too).
			err = mkdirs(ctx, rc, o.RemotePath)
		}
		rch <- listed{t, err}
	}()
	// Only the files the plan compares are hashed before it (lazy.go).
	localTree, lazy, lerr := scanning.wait()
	clock.lap("scan the local folder")
	if !o.DryRun {
		if n := l.cleanTemps(time.Now()); n > 0 {
			o.Logger.Info("removed the temporary files of interrupted downloads", "files", n)
		}
	}
	r := <-rch
	if lerr != nil {
		return sum, lerr
	}
	if r.err != nil {
		return sum, r.err
	}
	remoteTree := r.t
	if lazy {
		l.hashPending(localTree, remoteTree, ancestor, !unhashedUploads(rc) || lostAny(ancestor, localTree), lunk)
		clock.lap("hash the files both sides hold")
	}
	// Paths whose state is unknown on either side are left alone this run
	// (see held), unless the ancestor vouches for them.
	if localTree, err = held(lunk).borrow(ancestor, localTree); err != nil {
		return sum, err
	}
	if remoteTree, err = held(runk).borrow(ancestor, remoteTree); err != nil {
		return sum, err
	}
	for p := range runk {
		lunk[p] = true
	}
	gc.grow(localTree.Len() + remoteTree.Len() + ancestor.Len())
	// A path both snapshots and the ancestor hold is stored once: 93
	// fewer bytes an entry across the three trees (356 to 263 at 200,000).
	remoteTree.ShareStrings(localTree)
	ancestor.ShareStrings(localTree)
	lastAgreed := ancestor
	if len(lunk) > 0 {
		h := held(lunk)
		localTree, remoteTree, ancestor = h.filter(localTree), h.filter(remoteTree), h.filter(ancestor)
		sum.Skipped = len(lunk)
	}
	// Sides alike (a re-sync with nothing changed) plan nothing whatever
	// the ignore rules say (see core.Reconcile), so their files are not
	// read: the rules stay empty.
	agreed := localTree.Equal(remoteTree)
	ig := &core.Ignore{}
	if !agreed {
		if ig, err = ignoreRules(ctx, l, rc, o.RemotePath, localTree, remoteTree); err != nil {
			return sum, err
		}
	}
	plan := core.Reconcile(ancestor, localTree, remoteTree, core.Options{Now: time.Now(),
		LocalHost: o.LocalHost, RemoteHost: o.RemoteHost, Ignore: ig})
	sum.Conflicts = len(plan.Conflicts)
	clock.lap("plan")
	if err := core.SafetyCheck(ancestor, localTree, remoteTree, &plan, o.Limits); err != nil {
		return sum, fmt.Errorf("%w: %w", err, ErrUnsafe)
	}
	if o.DryRun {
		printPlan(o.Out, &plan)
		sum.Converged = plan.Empty()
		return sum, nil
	}
	if o.afterPlan != nil {
		o.afterPlan()
	}
	before := rc.Stats()
	o.Progress.begin(plan.Counts(core.Local), plan.Counts(core.Remote), func() int64 { s := rc.Stats(); return s.BytesSent + s.BytesReceived })
	x := &executor{ctx: ctx, l: l, rc: rc, base: o.RemotePath, workers: o.Workers, log: o.Logger, ltree: localTree, rtree: remoteTree, progress: o.Progress}
	// Before any download writes (durable.Content).
	x.content = durable.ForRoot(l.root, o.Logger)
	x.run(&plan) // keeps in the plan only the actions done
	x.content.Close()
	doneL, doneR := &plan.Local, &plan.Remote
	x.ltree, x.rtree = core.Tree{}, core.Tree{}
	clock.lap("carry out the plan")
	o.Progress.end()
	after := rc.Stats()
	sum.BytesSent, sum.BytesReceived = after.BytesSent-before.BytesSent, after.BytesReceived-before.BytesReceived
	sum.Failed = x.failed
	tampered := x.tampered
	count(&sum, doneL, doneR)
	// From here on the run lets go of what it no longer needs as soon as
	// it can (at 200,000 files each of the snapshots and the new trees is
	// 15 to 18 MB): the order below makes each dead early, and a local
	// variable the function no longer uses is no GC root. The done actions
	// (16 bytes each) are kept to the end, for verify.
	gc.squeeze()
	// A run that brought both sides into step records one tree, shared
	// (see core.Actions.Apply).
	local2, err := doneL.Apply(localTree, remoteTree)
	if err != nil {
		return sum, fmt.Errorf("record the local changes: %w", err)
	}
	remote2, err := doneR.Apply(remoteTree, local2)
	if err != nil {
		return sum, fmt.Errorf("record the server's changes: %w", err)
	}
	synced, err := l.syncDirs(doneL.All())
	if o.synced != nil {
		o.synced(synced)
	}
	if err != nil {
		return sum, err
	}
	next, err := held(lunk).restore(core.Settle(ancestor, local2, remote2), lastAgreed)
	if err != nil {
		return sum, fmt.Errorf("record the new state: %w", err)
	}
	// A run that changed nothing and learnt nothing new leaves the state
	// file as it is (re-writing 100,000 entries costs a tenth of a run).
	unchanged := st != nil && st.FS == fsid && next.Identical(lastAgreed)
	if st == nil {
		st = &state{Local: o.Local, Remote: o.RemoteName}
	}
	st.FS = fsid
	// What the server answered is recorded only once it is on its disk.
	if doneR.Len() > 0 {
		if err := rc.Flush(ctx); err != nil {
			return sum, err
		}
	}
	clock.lap("record the outcome")
	if unchanged {
		o.Logger.Debug("nothing new: the state file stays as it was")
	} else if err := saveState(statePath, st, next); err != nil {
		return sum, err
	}
	clock.lap("save the state")
	if len(tampered) > 0 {
		return sum, tamperedError(tampered)
	}
	sum.Converged = x.failed == 0 && len(lunk) == 0 && (agreed || ig.Apply(local2).Equal(ig.Apply(remote2))) &&
		x.verify(doneL, doneR, local2, remote2)
	return sum, nil
}

// tamperedError names the files whose server copies were refused.
func tamperedError(paths []string) error {
	if len(paths) == 1 {
		return fmt.Errorf("%s: %w; the local copy was kept", paths[0], ErrTampered)
	}
	return fmt.Errorf("%s and %d more: %w; the local copies were kept", paths[0], len(paths)-1, ErrTampered)
}

// count adds up what the actions that succeeded did.
func count(sum *Summary, doneL, doneR *core.Actions) {
	for _, a := range doneL.All() {
		switch {
		case a.Op == core.OpWrite:
			sum.Downloaded++
		case a.Op == core.OpRemove && a.Old.Kind != core.Dir:
			sum.DeletedLocal++
		}
	}
	for _, a := range doneR.All() {
		switch {
		case a.Op == core.OpWrite:
			sum.Uploaded++
		case a.Op == core.OpRemove && a.Old.Kind != core.Dir:
			sum.DeletedRemote++
		}
	}
}

// printPlan writes a plan as --dry-run shows it.
func printPlan(w io.Writer, p *core.Plan) {
	if w == nil {
		return
	}
	for _, side := range []core.Side{core.Local, core.Remote} {
		for _, a := range p.Actions(side).All() {
			fmt.Fprintf(w, "%s: %s\n", side, a)
		}
	}
	for _, c := range p.Conflicts {
		fmt.Fprintf(w, "conflict: %s (the other version kept as %s)\n", c.Path, c.Copy)
	}
	if p.Empty() {
		fmt.Fprintln(w, "nothing to do")
	}
}

// localFS identifies the file system the folder is on.
func localFS(dir string) (FSID, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return FSID{}, err
	}
	var sf unix.Statfs_t
	if err := unix.Statfs(dir, &sf); err != nil {
		return FSID{}, err
	}
	return FSID{Dev: st.Dev, FSID: uint64(uint32(sf.Fsid.Val[0]))<<32 | uint64(uint32(sf.Fsid.Val[1]))}, nil
}

// remotePath is the server path of a folder path p.
func remotePath(base, p string) string {
	if base == "" {
		return p
	}
	if p == "" {
		return base
	}
	return base + "/" + p
}

// listRemote lists the server folder base as a tree of folder paths; files
// listed without a hash (being written there) go to unknown. A folder that
// does not exist is an empty tree. A server that can leaves out what the
// ancestor already holds (see listDigests).
func listRemote(ctx context.Context, rc Remote, base string, unknown map[string]bool, ancestor core.Tree) (core.Tree, error) {
	if dl, ok := rc.(digestLister); ok && ancestor.Len() > 0 {
		return listDigests(ctx, dl, base, ancestor, unknown)
	}
	var b core.Builder
	hint := ancestor.Len()
	b.Grow(hint + hint/32) // within Build's slack (a 16th): no copy when the count is as last time
	err := rc.List(ctx, base, proto.HashesAll, func(es []proto.Entry) error {
		for _, e := range es {
			if err := addListed(&b, base, e, unknown); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return core.Tree{}, err
	}
	return b.Build()
}

// addListed adds a listed entry of the server folder base to b by its
// folder path (the folder's own entry is left out); a file without a hash
// goes to unknown.
func addListed(b *core.Builder, base string, e proto.Entry, unknown map[string]bool) error {
	p := e.Path
	if base != "" {
		if p == base {
			return nil
		}
		rest, ok := strings.CutPrefix(p, base+"/")
		if !ok {
			return fmt.Errorf("list %s: the server sent %q", base, p)
		}
		p = rest
	} else if p == "" {
		return nil
	}
	if e.Kind == proto.KindFile && e.Hash.IsZero() {
		unknown[p] = true
	}
	return b.Add(p, fromProto(e))
}

// mkdirs makes the server folder p and its parents.
func mkdirs(ctx context.Context, rc Remote, p string) error {
	cur := ""
	for _, el := range strings.Split(p, "/") {
		cur = remotePath(cur, el)
		if _, err := rc.Mkdir(ctx, cur, 0o755, 0); err != nil {
			return err
		}
	}
	return nil
}
