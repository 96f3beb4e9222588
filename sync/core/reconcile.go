package core

import (
	"io/fs"
	"slices"
	"strconv"
)

// outcome is the decision for one path on which the sides disagree.
type outcome struct {
	path    string
	a, l, r Entry
	res     Entry  // what both sides hold at path afterwards
	loser   Side   // whose entry is kept at copy (0: none)
	copy    string // the conflict copy's path
}

func (o *outcome) entry(s Side) Entry {
	if s == Local {
		return o.l
	}
	return o.r
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
func Reconcile(ancestor, local, remote Tree, opts Options) Plan {
	ancestor = opts.Ignore.Apply(ancestor)
	local = opts.Ignore.Apply(local)
	remote = opts.Ignore.Apply(remote)
	outs := disagreements(ancestor, local, remote)
	for i := range outs {
		o := &outs[i]
		o.res, o.loser = decide(o.a, o.l, o.r)
	}
	g := planner{opts: &opts, trees: [3]Tree{ancestor, local, remote}, used: map[string]bool{}}
	for i := range outs {
		if outs[i].loser != 0 {
			outs[i].copy = g.copyName(outs[i].path, outs[i].loser)
		}
	}
	g.shape(outs)
	for i := range outs {
		g.actions(&outs[i], Local)
		g.actions(&outs[i], Remote)
	}
	g.plan.Local = order(findMoves(g.plan.Local, local))
	g.plan.Remote = order(findMoves(g.plan.Remote, remote))
	return g.plan
}

// disagreements walks the three trees in path order and returns the paths
// where local and remote are not the Same.
func disagreements(a, l, r Tree) []outcome {
	var outs []outcome
	i, j, k := 0, 0, 0
	for i < len(a.recs) || j < len(l.recs) || k < len(r.recs) {
		// The smallest path among the three cursors.
		p := ""
		for n, t := range [3]Tree{a, l, r} {
			idx := [3]int{i, j, k}[n]
			if idx < len(t.recs) {
				if q := t.recs[idx].path(); p == "" || ComparePaths(q, p) < 0 {
					p = q
				}
			}
		}
		var o outcome
		o.path = p
		if i < len(a.recs) && a.recs[i].path() == p {
			o.a = a.recs[i].entry()
			i++
		}
		if j < len(l.recs) && l.recs[j].path() == p {
			o.l = l.recs[j].entry()
			j++
		}
		if k < len(r.recs) && r.recs[k].path() == p {
			o.r = r.recs[k].entry()
			k++
		}
		if !Same(o.l, o.r) {
			outs = append(outs, o)
		}
	}
	return outs
}

// decide applies the per-path rules (see Reconcile) to one path on which
// l and r differ.
func decide(a, l, r Entry) (Entry, Side) {
	switch {
	case Same(l, a):
		return r, 0
	case Same(r, a):
		return l, 0
	case !l.Present():
		return r, 0
	case !r.Present():
		return l, 0
	case sameContent(l, r):
		res := l
		res.Mode = mergeMode(a, l, r)
		return res, 0
	case l.Kind == File && r.Kind == File && sameContent(l, a):
		res := r
		res.Mode = mergeMode(a, l, r)
		return res, 0
	case l.Kind == File && r.Kind == File && sameContent(r, a):
		res := l
		res.Mode = mergeMode(a, l, r)
		return res, 0
	case wins(l, r):
		return l, Remote
	}
	return r, Local
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

// planner builds a Plan from outcomes.
type planner struct {
	opts  *Options
	trees [3]Tree // ancestor, local, remote
	used  map[string]bool
	plan  Plan
}

// copyName returns a conflict copy path for p, with the host of side s,
// that no tree holds and no other conflict took: a numbered host ("-2",
// "-3", ...) when the plain name is taken.
func (g *planner) copyName(p string, s Side) string {
	host := g.opts.host(s)
	for n := 1; ; n++ {
		h := host
		if n > 1 {
			h = host + "-" + strconv.Itoa(n)
		}
		c := ConflictName(p, g.opts.Now, h)
		if g.used[c] || g.trees[0].Lookup(c).Present() || g.trees[1].Lookup(c).Present() || g.trees[2].Lookup(c).Present() {
			continue
		}
		g.used[c] = true
		return c
	}
}

// shape makes every surviving path's parents directories (see Reconcile),
// walking children before parents. Agreed paths need no check: both sides
// hold them, so both hold their parents as directories.
func (g *planner) shape(outs []outcome) {
	needDir := map[string]bool{}
	for i := len(outs) - 1; i >= 0; i-- {
		o := &outs[i]
		if needDir[o.path] && o.res.Kind != Dir {
			dirSide, other := Local, Remote
			if o.l.Kind != Dir {
				dirSide, other = Remote, Local
			}
			// The other side holds a file or link here that was changed
			// (or it would not have beaten a directory): keep it aside.
			if o.res.Present() && o.entry(other).Present() {
				o.loser = other
				o.copy = g.copyName(o.path, other)
			}
			o.res = o.entry(dirSide)
		}
		if p := Parent(o.path); p != "" && (o.res.Present() || o.loser != 0) {
			needDir[p] = true
		}
	}
}

// actions adds side s's actions for one outcome.
func (g *planner) actions(o *outcome, s Side) {
	add := func(a Action) {
		if s == Local {
			g.plan.Local = append(g.plan.Local, a)
		} else {
			g.plan.Remote = append(g.plan.Remote, a)
		}
	}
	cur := o.entry(s)
	switch o.loser {
	case 0:
	case s:
		add(Action{Op: OpAside, Path: o.copy, From: o.path, Old: cur, New: cur})
		cur = Entry{}
	default:
		lost := o.entry(o.loser)
		add(Action{Op: OpWrite, Path: o.copy, From: o.copy, New: lost})
		g.plan.Conflicts = append(g.plan.Conflicts, Conflict{Path: o.path, Copy: o.copy, Winner: s, Kept: o.res, Lost: lost})
	}
	res := o.res
	switch {
	case Same(cur, res):
	case !res.Present():
		add(Action{Op: OpRemove, Path: o.path, Old: cur})
	case res.Kind == Dir && cur.Kind == Dir, res.Kind != Dir && cur.Kind != Dir && sameContent(cur, res):
		add(Action{Op: OpSetMeta, Path: o.path, Old: cur, New: res})
	case res.Kind == Dir:
		add(Action{Op: OpMkdir, Path: o.path, Old: cur, New: res})
	case cur.Kind == Dir:
		add(Action{Op: OpRemove, Path: o.path, Old: cur})
		add(Action{Op: OpWrite, Path: o.path, From: o.path, New: res})
	default:
		add(Action{Op: OpWrite, Path: o.path, From: o.path, Old: cur, New: res})
	}
}

// order sorts a side's actions into execution order: by phase; removals
// deepest first, everything else parents first.
func order(acts []Action) []Action {
	slices.SortStableFunc(acts, func(x, y Action) int {
		if px, py := x.Op.Phase(), y.Op.Phase(); px != py {
			return px - py
		}
		if x.Op == OpRemove {
			return ComparePaths(y.Path, x.Path)
		}
		return ComparePaths(x.Path, y.Path)
	})
	return acts
}
