package client

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// verify checks, after a run, that every path an action touched is on
// each side what the plan left there (kind, size, mode, mtime and for
// links the target; hashes where the server has them cached), so that a
// change made meanwhile keeps the run from claiming it converged. It is a
// stat per touched path, not a second scan.
func (x *executor) verify(ctx context.Context, out outcome, loc, rem core.Tree) bool {
	lp, rp := touchedPaths(out.local), touchedPaths(out.remote)
	for _, p := range lp {
		want := loc.Lookup(p)
		st, err := x.local.root.Lstat(p)
		if err != nil {
			if want.Present() || !(errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)) {
				return false
			}
			continue
		}
		if !metaMatches(want, statEntry(x.local.root, p, &st)) {
			return false
		}
	}
	for i := 0; i < len(rp); i += proto.MaxBatch {
		batch := rp[i:min(i+proto.MaxBatch, len(rp))]
		paths := make([]string, len(batch))
		for j, p := range batch {
			paths[j] = remotePath(x.base, p)
		}
		es, err := x.remote.Stat(ctx, paths, proto.HashesCached)
		if err != nil || len(es) != len(batch) {
			return false
		}
		for j, e := range es {
			want, got := rem.Lookup(batch[j]), fromProto(e)
			if !metaMatches(want, got) || (got.Kind == core.File && e.Hash != (proto.Hash{}) && got.Hash != want.Hash) {
				return false
			}
		}
	}
	return true
}

// touchedPaths lists the paths the actions named (Path and From).
func touchedPaths(acts []core.Action) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range acts {
		for _, p := range keys(a) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// metaMatches compares what a stat shows: kind, and for files size,
// mtime and mode, for links the target.
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

// statEntry converts a local stat (no hash) to an entry.
func statEntry(root interface {
	Readlink(string) (string, error)
}, p string, st *unix.Stat_t) core.Entry {
	e := core.Entry{Mode: 0, MTime: st.Mtim.Nano()}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Kind, e.Size = core.File, st.Size
	case unix.S_IFDIR:
		e.Kind = core.Dir
	case unix.S_IFLNK:
		e.Kind = core.Symlink
		e.Target, _ = root.Readlink(p)
		return e
	default:
		return core.Entry{Kind: 255}
	}
	e.Mode = 0o777 & fsMode(st.Mode)
	return e
}
