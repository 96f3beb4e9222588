package core

import (
	"io/fs"
	"slices"
	"strconv"
)

// planner builds a Plan from outcomes.
type planner struct {
	opts   *Options
	trees  [3]Tree // ancestor, local, remote
	used   map[string]bool
	copies []string // conflict copies' paths
	plan   Plan
}

// copyName returns a conflict copy path for p, with the host of side s,
// that no tree holds and no other conflict took: a numbered host ("-2",
// "-3", ...) when the plain name is taken. It returns the path's index in
// g.copies.
func (g *planner) copyName(p string, s Side) int32 {
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
		g.copies = append(g.copies, c)
		return int32(len(g.copies) - 1)
	}
}

// fixup is an outcome the first walk decided differently from decide.
type fixup struct {
	res   Entry
	src   Side
	loser Side
	copy  int32
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
		o.res, o.src, o.loser = decide(o.a, o.l, o.r)
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
				o.res, o.src = o.entry(dirSide), dirSide
				fixed[o.path] = fixup{res: o.res, src: o.src, loser: o.loser, copy: o.copy}
			}
		}
		if o.loser != 0 {
			fixed[o.path] = fixup{res: o.res, src: o.src, loser: o.loser, copy: o.copy}
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
	acts := g.plan.Actions(s)
	add := func(op Op, old int32, newIn Side, new int32, mode fs.FileMode, cp int32) {
		acts.list = append(acts.list, step{op: op, old: old, in: newIn, new: new, mode: uint16(mode & PermMask), copy: cp})
	}
	cur, curAt := o.entry(s), o.rec(s)
	switch o.loser {
	case 0:
	case s:
		add(OpAside, curAt, s, curAt, cur.Mode, o.copy)
		cur, curAt = Entry{}, -1
	default:
		lost := o.entry(o.loser)
		add(OpWrite, -1, o.loser, o.rec(o.loser), lost.Mode, o.copy)
		g.plan.Conflicts = append(g.plan.Conflicts, Conflict{Path: o.path, Copy: g.copies[o.copy], Winner: s, Kept: o.res, Lost: lost})
	}
	res, resAt := o.res, o.rec(o.src)
	switch {
	case Same(cur, res):
	case !res.Present():
		add(OpRemove, curAt, 0, -1, 0, -1)
	case res.Kind == Dir && cur.Kind == Dir, res.Kind != Dir && cur.Kind != Dir && sameContent(cur, res):
		add(OpSetMeta, curAt, o.src, resAt, res.Mode, -1)
	case res.Kind == Dir:
		add(OpMkdir, curAt, o.src, resAt, res.Mode, -1)
	case cur.Kind == Dir:
		add(OpRemove, curAt, 0, -1, 0, -1)
		add(OpWrite, -1, o.src, resAt, res.Mode, -1)
	default:
		add(OpWrite, curAt, o.src, resAt, res.Mode, -1)
	}
}

// order sorts the actions into execution order: by phase; removals
// deepest first, everything else parents first.
func (s *Actions) order() {
	slices.SortStableFunc(s.list, func(x, y step) int {
		if px, py := x.op.Phase(), y.op.Phase(); px != py {
			return px - py
		}
		if x.op == OpRemove {
			return ComparePaths(s.stepPath(&y), s.stepPath(&x))
		}
		return ComparePaths(s.stepPath(&x), s.stepPath(&y))
	})
}
