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
	g := planner{opts: &opts, trees: [3]Tree{ancestor, local, remote}, used: map[string]bool{}}
	// Two walks over the paths the sides disagree on, so that no record
	// per path is kept (an initial sync disagrees on every path): the
	// first, children before parents, decides and fixes the tree's shape,
	// remembering only conflicts and fix-ups; the second, parents first,
	// decides again and writes the actions.
	fixed, nl, nr := g.shape()
	g.plan.Local = make([]Action, 0, nl)
	g.plan.Remote = make([]Action, 0, nr)
	walk(ancestor, local, remote, false, func(o *outcome) {
		o.res, o.loser = decide(o.a, o.l, o.r)
		if f, ok := fixed[o.path]; ok {
			o.res, o.loser, o.copy = f.res, f.loser, f.copy
		}
		g.actions(o, Local)
		g.actions(o, Remote)
	})
	g.plan.Local = order(findMoves(g.plan.Local, local))
	g.plan.Remote = order(findMoves(g.plan.Remote, remote))
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
		for n := range ts {
			if i := idx[n]; i >= 0 && i < len(ts[n]) && ts[n][i].path() == p {
				es[n] = ts[n][i].entry()
				idx[n] += step
			}
		}
		if !Same(es[1], es[2]) {
			o = outcome{path: p, a: es[0], l: es[1], r: es[2]}
			fn(&o)
		}
	}
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

// fixup is an outcome the first walk decided differently from decide.
type fixup struct {
	res   Entry
	loser Side
	copy  string
}

// shape decides every path, children before parents, names conflict
// copies, and makes every surviving path's parents directories (see
// Reconcile). It returns the outcomes that differ from what decide alone
// says, and those with a conflict copy. Agreed paths need no check: both
// sides hold them, so both hold their parents as directories.
func (g *planner) shape() (fixed map[string]fixup, nl, nr int) {
	fixed = map[string]fixup{}
	needDir := map[string]bool{}
	walk(g.trees[0], g.trees[1], g.trees[2], true, func(o *outcome) {
		o.res, o.loser = decide(o.a, o.l, o.r)
		if o.loser != 0 {
			o.copy = g.copyName(o.path, o.loser)
		}
		if needDir[o.path] {
			delete(needDir, o.path)
			if o.res.Kind != Dir {
				dirSide, other := Local, Remote
				if o.l.Kind != Dir {
					dirSide, other = Remote, Local
				}
				// The other side holds a file or link here that was
				// changed (or it would not have beaten a directory): keep
				// it aside.
				if o.res.Present() && o.entry(other).Present() {
					o.loser = other
					o.copy = g.copyName(o.path, other)
				}
				o.res = o.entry(dirSide)
				fixed[o.path] = fixup{res: o.res, loser: o.loser, copy: o.copy}
			}
		}
		if o.loser != 0 {
			fixed[o.path] = fixup{res: o.res, loser: o.loser, copy: o.copy}
		}
		if p := Parent(o.path); p != "" && (o.res.Present() || o.loser != 0) {
			needDir[p] = true
		}
		nl += estimate(o, Local)
		nr += estimate(o, Remote)
	})
	return fixed, nl, nr
}

// estimate returns how many actions side s gets for o: at most two for the
// path (a removal and a write) and one for a conflict copy.
func estimate(o *outcome, s Side) int {
	n := 0
	if o.loser != 0 {
		n++
	}
	if cur := o.entry(s); !Same(cur, o.res) {
		n++
		if cur.Kind == Dir && o.res.Present() && o.res.Kind != Dir {
			n++
		}
	}
	return n
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
