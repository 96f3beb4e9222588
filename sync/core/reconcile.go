package core

import "io/fs"

// outcome is the decision for one path on which the sides disagree.
type outcome struct {
	path    string
	a, l, r Entry
	li, ri  int32 // l's and r's records in their trees (-1: absent)
	res     Entry // what both sides hold at path afterwards
	src     Side  // whose record res is (its mode may be merged)
	loser   Side  // whose entry is kept at copy (0: none)
	copy    int32 // the conflict copy's path, by index of the planner's copies
}

func (o *outcome) entry(s Side) Entry {
	if s == Local {
		return o.l
	}
	return o.r
}

// rec returns the index of side s's record at the path (-1: none).
func (o *outcome) rec(s Side) int32 {
	if s == Local {
		return o.li
	}
	return o.ri
}

// Reconcile compares the ancestor (the last state both sides agreed on)
// with the local and remote snapshots, path by path, and plans what makes
// the two sides equal again without losing anything either side changed.
// It is a pure function of its arguments. The rules, for each path:
//
//   - Both sides the Same (mtimes may differ): nothing to do; the path is
//     agreed (Settle records it).
//   - One side unchanged since the ancestor: the other side's state wins,
//     a deletion included. With no ancestor entry (a first run, or a lost
//     state) nothing is unchanged, so nothing is ever deleted.
//   - One side deleted, the other changed: the change survives and is
//     recreated on the deleting side (Unison and Syncthing do the same).
//   - Both changed to the same content with different permission bits,
//     or one changed only the bits and the other only the content: merged,
//     no conflict; bits both sides changed differently are ANDed (a
//     permission one side took away stays away).
//   - Otherwise a conflict: the winner (a directory over anything else,
//     then the later mtime, then a fixed order; see wins) keeps the path,
//     the loser is kept as a conflict copy (ConflictName, the loser's host)
//     on both sides.
//
// Then the tree's shape: a path that survives needs its parents to be
// directories, so a directory deleted (or replaced by a file or link) on
// one side while the other added or changed something inside is kept
// holding only what was added or changed (Syncthing's behaviour; Mutagen
// would restore the whole directory, Unison report a conflict): unchanged
// files the deleting side removed stay removed, and the server keeps them
// as versions. A file or link that lost its name that way is kept as a
// conflict copy. Finally, on each side, a file removal and a file write of
// the same content hash become one move, so a moved or renamed file (or a
// renamed directory's files) is not sent again.
//
// Paths that opts.Ignore ignores are taken out of all three trees first,
// so they are neither synced nor deleted.
//
// Sides that are Equal (a re-sync with nothing changed) get the empty
// plan at the cost of one comparison: the rules act only where the sides
// differ, whatever the ancestor says, and ignore rules take the same
// paths out of both.
func Reconcile(ancestor, local, remote Tree, opts Options) Plan {
	if local.Equal(remote) {
		return Plan{Local: Actions{side: Local, l: local, r: remote}, Remote: Actions{side: Remote, l: local, r: remote}}
	}
	givenL, givenR := local, remote
	ancestor = opts.Ignore.Apply(ancestor)
	local = opts.Ignore.Apply(local)
	remote = opts.Ignore.Apply(remote)
	g := planner{opts: &opts, trees: [3]Tree{ancestor, local, remote}, used: map[string]bool{}}
	// Two walks over the paths the sides disagree on, so that no record
	// per path is kept (an initial sync disagrees on every path): the
	// first, children before parents, decides and fixes the tree's shape,
	// remembering only conflicts and fix-ups; the second, parents first,
	// decides again and writes the actions.
	fixed, nl, nr := g.shape()
	g.plan.Local = Actions{side: Local, l: local, r: remote, list: make([]step, 0, nl)}
	g.plan.Remote = Actions{side: Remote, l: local, r: remote, list: make([]step, 0, nr)}
	walk(ancestor, local, remote, false, func(o *outcome) {
		o.res, o.src, o.loser = decide(o.a, o.l, o.r)
		o.copy = -1
		if f, ok := fixed[o.path]; ok {
			o.res, o.src, o.loser, o.copy = f.res, f.src, f.loser, f.copy
		}
		g.actions(o, Local)
		g.actions(o, Remote)
	})
	for _, s := range []*Actions{&g.plan.Local, &g.plan.Remote} {
		s.copies = g.copies
		s.findMoves()
		s.order()
	}
	// The actions point into the trees as given, so that trees the
	// ignore rules made smaller copies of are not held by the plan.
	g.plan.Local.rebase(givenL, givenR)
	g.plan.Remote.rebase(givenL, givenR)
	return g.plan
}

// walk calls fn for each path where local and remote are not the Same,
// in path order or, with reverse, in the opposite order (children before
// their parents). The outcome is reused between calls.
func walk(a, l, r Tree, reverse bool, fn func(*outcome)) {
	ts := [3][]record{a.recs, l.recs, r.recs}
	var idx [3]int
	step := 1
	if reverse {
		step = -1
		for n := range ts {
			idx[n] = len(ts[n]) - 1
		}
	}
	var o outcome
	for {
		// The next path among the three cursors.
		p, found := "", false
		for n := range ts {
			if i := idx[n]; i >= 0 && i < len(ts[n]) {
				if q := ts[n][i].path(); !found || ComparePaths(q, p)*step < 0 {
					p, found = q, true
				}
			}
		}
		if !found {
			return
		}
		var es [3]Entry
		at := [3]int32{-1, -1, -1}
		for n := range ts {
			if i := idx[n]; i >= 0 && i < len(ts[n]) && ts[n][i].path() == p {
				es[n], at[n] = ts[n][i].entry(), int32(i)
				idx[n] += step
			}
		}
		if !Same(es[1], es[2]) {
			o = outcome{path: p, a: es[0], l: es[1], r: es[2], li: at[1], ri: at[2], copy: -1}
			fn(&o)
		}
	}
}

// decide applies the per-path rules (see Reconcile) to one path on which
// l and r differ: what both sides hold afterwards, whose entry that is
// (perhaps with merged permission bits), and whose entry loses a conflict.
func decide(a, l, r Entry) (res Entry, src, loser Side) {
	switch {
	case Same(l, a):
		return r, Remote, 0
	case Same(r, a):
		return l, Local, 0
	case !l.Present():
		return r, Remote, 0
	case !r.Present():
		return l, Local, 0
	case sameContent(l, r):
		res := l
		res.Mode = mergeMode(a, l, r)
		return res, Local, 0
	case l.Kind == File && r.Kind == File && sameContent(l, a):
		res := r
		res.Mode = mergeMode(a, l, r)
		return res, Remote, 0
	case l.Kind == File && r.Kind == File && sameContent(r, a):
		res := l
		res.Mode = mergeMode(a, l, r)
		return res, Local, 0
	case wins(l, r):
		return l, Local, Remote
	}
	return r, Remote, Local
}

// mergeMode merges l's and r's permission bits three-way: a side that left
// them as the ancestor had them takes the other's; changed on both, the
// bits both keep.
func mergeMode(a, l, r Entry) fs.FileMode {
	lm, rm := l.Mode&PermMask, r.Mode&PermMask
	if a.Kind == l.Kind && a.Kind == r.Kind {
		switch am := a.Mode & PermMask; {
		case lm == am:
			return rm
		case rm == am:
			return lm
		}
	}
	return lm & rm
}
