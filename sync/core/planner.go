package core

import (
	"slices"
	"strconv"
)

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
