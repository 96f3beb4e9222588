package client

import (
	"errors"
	"io/fs"
	"iter"
	"slices"

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
func (x *executor) verify(touchedL, touchedR []string, loc, rem core.Tree) bool {
	for _, p := range touchedL {
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
	rp := touchedR
	for i := 0; i < len(rp); i += proto.MaxBatch {
		batch := rp[i:min(i+proto.MaxBatch, len(rp))]
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
	}
	return true
}

// touched lists the paths the actions named (Path and From), once each,
// in sorted order. It sorts rather than keeping a set: at 200,000 actions
// a map of the paths would cost 8 MB more while the plan and both trees
// are held.
func touched(acts iter.Seq2[int, core.Action]) []string {
	n := 0
	for _, a := range acts {
		n++
		if a.From != "" && a.From != a.Path {
			n++
		}
	}
	out := make([]string, 0, n)
	for _, a := range acts {
		if a.Path != "" {
			out = append(out, a.Path)
		}
		if a.From != "" && a.From != a.Path {
			out = append(out, a.From)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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
