package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
)

// A snapshot is one side's tree for a run, with the paths whose state is
// not known well enough to act on.
//
// A file whose content hash is unknown (the scanner saw it change while
// reading it, could not read it, or the server sent no hash) must neither
// look deleted nor changed. If the ancestor holds a file of the same size
// and mtime at that path, the ancestor's hash is taken: the usual "same
// size and mtime, same content" of rsync and Unison, which the next run,
// with a stable file, checks again. Otherwise the path is left out of
// this run on all three trees (held), so nothing is done to it or because
// of it on either side, and the new ancestor keeps what the old one said
// about it. A directory the scanner could not read (Summary.Unscanned) is
// held with everything below it.
type snapshot struct {
	tree core.Tree
	held []string // paths (and their subtrees) to leave out of this run
}

// unknownHash decides for a file entry e at p without a trustworthy hash:
// it returns the ancestor's entry with e's metadata, or false to hold p.
func unknownHash(anc core.Tree, p string, e core.Entry) (core.Entry, bool) {
	a := anc.Lookup(p)
	if a.Kind == core.File && a.Size == e.Size && a.MTime == e.MTime {
		e.Hash = a.Hash
		return e, true
	}
	return e, false
}

// scanLocal walks the local folder with sc into a tree.
func scanLocal(sc *scan.Scanner, anc core.Tree) (snapshot, scan.Summary, error) {
	var b core.Builder
	var s snapshot
	sum, err := sc.Walk("", func(e *scan.Entry) error {
		c := fromScan(e)
		if e.Kind == scan.File && !e.HasHash() {
			var ok bool
			if c, ok = unknownHash(anc, e.Path, c); !ok {
				s.held = append(s.held, e.Path)
			}
		}
		return b.Add(e.Path, c)
	})
	if err != nil {
		return s, sum, fmt.Errorf("scan local folder: %w", err)
	}
	for _, u := range sum.Unscanned {
		if u.Path == "" {
			return s, sum, fmt.Errorf("scan local folder: %w", u)
		}
		s.held = append(s.held, u.Path)
	}
	if s.tree, err = b.Build(); err != nil {
		return s, sum, fmt.Errorf("scan local folder: %w", err)
	}
	return s, sum, nil
}

// errNoRemoteRoot says the server's folder does not exist (yet).
var errNoRemoteRoot = errors.New("remote folder does not exist")

// listRemote lists the server's folder base into a tree of paths relative
// to base. A missing folder is an empty tree and errNoRemoteRoot.
func listRemote(ctx context.Context, r Remote, base string, anc core.Tree) (snapshot, error) {
	var b core.Builder
	var s snapshot
	root := false
	err := r.List(ctx, base, proto.HashesAll, func(es []proto.Entry) error {
		for _, w := range es {
			p, ok := relPath(base, w.Path)
			if !ok {
				return fmt.Errorf("server listed %q outside %q", w.Path, base)
			}
			if p == "" {
				if w.Kind != proto.KindDir {
					return fmt.Errorf("remote %q is a %v, not a directory", base, w.Kind)
				}
				root = true
				continue
			}
			c := fromProto(w)
			if c.Kind == core.File && w.Hash.IsZero() {
				if c, ok = unknownHash(anc, p, c); !ok {
					s.held = append(s.held, p)
				}
			}
			if err := b.Add(p, c); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, proto.ErrNotFound) {
		return s, errNoRemoteRoot
	}
	if err != nil {
		return s, fmt.Errorf("list remote folder: %w", err)
	}
	if s.tree, err = b.Build(); err != nil {
		return s, fmt.Errorf("list remote folder: %w", err)
	}
	if !root && s.tree.Len() == 0 {
		return s, errNoRemoteRoot
	}
	return s, nil
}

// relPath returns p (relative to the user's root) relative to base.
func relPath(base, p string) (string, bool) {
	if base == "" {
		return p, true
	}
	if p == base {
		return "", true
	}
	rest, ok := strings.CutPrefix(p, base+"/")
	return rest, ok && rest != ""
}

// remotePath returns the server's path of p, relative to base.
func remotePath(base, p string) string {
	switch {
	case base == "":
		return p
	case p == "":
		return base
	}
	return base + "/" + p
}

// holdSet is the set of held paths; a path is held if it or a directory
// it lies in is.
type holdSet map[string]bool

func (h holdSet) add(ps []string) {
	for _, p := range ps {
		h[p] = true
	}
}

func (h holdSet) held(p string) bool {
	for ; p != ""; p = core.Parent(p) {
		if h[p] {
			return true
		}
	}
	return false
}

// filter returns t without the held paths.
func (h holdSet) filter(t core.Tree) core.Tree {
	if len(h) == 0 {
		return t
	}
	return t.Filter(func(p string, _ core.Entry) bool { return h.held(p) })
}

// restore returns the new ancestor settled with the old ancestor's entries
// of held paths put back, so that the next run still knows their agreed
// state. An entry whose parent is no longer a directory is dropped.
func (h holdSet) restore(settled, anc core.Tree) (core.Tree, error) {
	if len(h) == 0 {
		return settled, nil
	}
	var b core.Builder
	b.Grow(settled.Len())
	dirs := map[string]bool{"": true}
	for p, e := range settled.All() {
		if e.Kind == core.Dir {
			dirs[p] = true
		}
		if err := b.Add(p, e); err != nil {
			return core.Tree{}, err
		}
	}
	for p, e := range anc.All() {
		if !h.held(p) || settled.Lookup(p).Present() || !dirs[core.Parent(p)] {
			continue
		}
		if e.Kind == core.Dir {
			dirs[p] = true
		}
		if err := b.Add(p, e); err != nil {
			return core.Tree{}, err
		}
	}
	return b.Build()
}
