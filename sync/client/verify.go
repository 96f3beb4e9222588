package client

import (
	"errors"
	"io/fs"
	"iter"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// verify checks, after a run, that every path an action touched is on
// each side what the plan left there (kind; a file's size, mtime and
// mode; a link's target; a file's hash where the server has it cached),
// so that a change made to one of them while the run went on keeps it
// from claiming both sides are equal. It costs a stat per touched path on
// each side (one Stat request per 4,096 on the server), not a second scan.
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
	var batch []string
	check := func() bool {
		if len(batch) == 0 {
			return true
		}
		paths := make([]string, len(batch))
		for j, p := range batch {
			paths[j] = remotePath(x.base, p)
		}
		es, err := x.rc.Stat(x.ctx, paths, proto.HashesCached)
		if err != nil || len(es) != len(batch) {
			return false
		}
		for j, e := range es {
			want, got := rem.Lookup(batch[j]), fromProto(e)
			if !metaMatches(want, got) || (got.Kind == core.File && !e.Hash.IsZero() && got.Hash != want.Hash) {
				return false
			}
		}
		batch = batch[:0]
		return true
	}
	for p := range touched(doneR.All()) {
		if batch = append(batch, p); len(batch) == proto.MaxBatch && !check() {
			return false
		}
	}
	return check()
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
