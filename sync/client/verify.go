package client

import (
	"errors"
	"io/fs"
	"iter"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// verify checks, after a run, that every path an action touched is on
// each side what the plan left there (kind; a file's size, mtime and
// mode; a link's target; a file's hash where the server has it cached),
// so that a change made to one of them while the run went on keeps it
// from claiming both sides are equal. It costs a stat per touched path on
// each side (Stat requests of verifyBatch paths on the server, several at
// once), not a second scan.
// It reads the paths from the done actions rather than from a list of
// them: at 200,000 actions the list (3 MB) would be held while both new
// trees are.
func (x *executor) verify(doneL, doneR *core.Actions, loc, rem core.Tree) bool {
	for p := range touched(doneL.All()) {
		want := loc.Lookup(p)
		st, err := x.l.root.Lstat(p)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			if want.Present() {
				return false
			}
			continue
		}
		if err != nil || !metaMatches(want, x.statEntry(p, &st)) {
			return false
		}
	}
	return x.verifyRemote(doneR, rem)
}

// verifyBatch is how many paths one Stat of verifyRemote asks about, and
// verifyAtOnce how many such Stats are in flight: the server answers each
// in a goroutine of its own, a stat (and a cache read) a path, so 10,000
// paths in three Stats of 4,096 one after another took 0.4 s of a first
// sync, on one of its cores.
const (
	verifyBatch  = 1024
	verifyAtOnce = 8
)

// verifyRemote is verify's check of the server's side: every path doneR
// touched is what rem says.
func (x *executor) verifyRemote(doneR *core.Actions, rem core.Tree) bool {
	var (
		wg  sync.WaitGroup
		bad atomic.Bool
		sem = make(chan struct{}, verifyAtOnce)
	)
	check := func(batch []string) {
		defer wg.Done()
		defer func() { <-sem }()
		paths := make([]string, len(batch))
		for j, p := range batch {
			paths[j] = remotePath(x.base, p)
		}
		es, err := x.rc.Stat(x.ctx, paths, proto.HashesCached)
		if err != nil || len(es) != len(batch) {
			bad.Store(true)
			return
		}
		for j, e := range es {
			want, got := rem.Lookup(batch[j]), fromProto(e)
			if !metaMatches(want, got) || (got.Kind == core.File && !e.Hash.IsZero() && got.Hash != want.Hash) {
				bad.Store(true)
				return
			}
		}
	}
	var batch []string
	for p := range touched(doneR.All()) {
		if batch = append(batch, p); len(batch) < verifyBatch {
			continue
		}
		if bad.Load() {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go check(batch)
		batch = nil
	}
	if len(batch) > 0 && !bad.Load() {
		sem <- struct{}{}
		wg.Add(1)
		go check(batch)
	}
	wg.Wait()
	return !bad.Load()
}

// touched yields the paths the actions name: each action's Path, and its
// From where it differs. A path two actions name comes twice.
func touched(acts iter.Seq2[int, core.Action]) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, a := range acts {
			if !yield(a.Path) {
				return
			}
			if a.From != "" && a.From != a.Path && !yield(a.From) {
				return
			}
		}
	}
}

// metaMatches compares what a stat shows: kind, a file's size, mtime and
// mode, a link's target.
func metaMatches(want, got core.Entry) bool {
	if want.Kind != got.Kind {
		return false
	}
	switch want.Kind {
	case core.File:
		return want.Size == got.Size && want.MTime == got.MTime && want.Mode&core.PermMask == got.Mode&core.PermMask
	case core.Symlink:
		return want.Target == got.Target
	}
	return true
}

// statEntry converts a local lstat (no hash) to an entry.
func (x *executor) statEntry(p string, st *unix.Stat_t) core.Entry {
	e := core.Entry{MTime: st.Mtim.Nano(), Mode: fs.FileMode(st.Mode) & core.PermMask}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Kind, e.Size = core.File, st.Size
	case unix.S_IFDIR:
		e.Kind = core.Dir
	case unix.S_IFLNK:
		e.Kind, e.Mode = core.Symlink, 0
		e.Target, _ = x.l.root.Readlink(p)
	default:
		e.Kind = core.Kind(255) // matches nothing the plan leaves
	}
	return e
}
