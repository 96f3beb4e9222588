package core

import (
	"errors"
	"fmt"
	"slices"
)

// ErrRaced is wrapped by Apply's errors when an action's expected state
// (Old) does not match the tree, or the tree's shape does not allow it.
var ErrRaced = errors.New("state differs from the plan's")

// Apply returns t after one side's actions, checked as a careful executor
// checks them: Old must match (Entry.Matches), a parent must be a
// directory, a move or write target must be free or as expected, a
// removed directory must be empty. It is the model the fuzz test runs
// plans on, and a client can use it to know its trees after executing a
// plan (passing only the actions that succeeded) without scanning again.
// Apply costs one pass over t plus a map of the paths the actions touch
// (to the action that last set each: 4 bytes, not a copy of its entry).
// With no actions it returns t itself.
func Apply(t Tree, acts []Action) (Tree, error) {
	if len(acts) == 0 {
		return t, nil
	}
	m := overlay{base: t, acts: acts, over: make(map[string]int32, len(acts)), extra: map[string]int{}}
	for i, a := range acts {
		m.cur = int32(i)
		if err := m.apply(a); err != nil {
			return Tree{}, fmt.Errorf("%v: %w", a, err)
		}
	}
	return m.tree(), nil
}

// overlay is a Tree with changes on top.
type overlay struct {
	base  Tree
	acts  []Action
	cur   int32            // the action being applied
	over  map[string]int32 // changed paths: the action whose New is there now, or gone
	extra map[string]int   // per directory, live entries the base lacks
}

// gone marks a path removed in over.
const gone = -1

func (m *overlay) get(p string) Entry {
	if i, ok := m.over[p]; ok {
		return m.at(i)
	}
	return m.base.Lookup(p)
}

// at returns what action i left at its Path (nothing for gone).
func (m *overlay) at(i int32) Entry {
	if i == gone {
		return Entry{}
	}
	return m.acts[i].New
}

// set records that p now holds the current action's New (present) or
// nothing.
func (m *overlay) set(p string, present bool) {
	if !m.base.Lookup(p).Present() {
		if m.get(p).Present() {
			m.extra[Parent(p)]--
		}
		if present {
			m.extra[Parent(p)]++
		}
	}
	if present {
		m.over[p] = m.cur
	} else {
		m.over[p] = gone
	}
}

// empty reports whether directory p holds no live entry.
func (m *overlay) empty(p string) bool {
	if m.extra[p] > 0 {
		return false
	}
	i, _ := m.base.index(p)
	for ; i < len(m.base.recs); i++ {
		q := m.base.recs[i].path()
		if q == p {
			continue
		}
		if !Within(q, p) {
			break
		}
		if m.get(q).Present() {
			return false
		}
	}
	return true
}

func (m *overlay) parentIsDir(p string) error {
	if d := Parent(p); d != "" && m.get(d).Kind != Dir {
		return fmt.Errorf("parent %q is %v: %w", d, m.get(d), ErrRaced)
	}
	return nil
}

func (m *overlay) apply(a Action) error {
	if err := ValidPath(a.Path); err != nil {
		return err
	}
	at := a.Path
	if a.Op == OpAside || a.Op == OpMove {
		at = a.From
	}
	if cur := m.get(at); !a.Old.Matches(cur) {
		return fmt.Errorf("%q is %v: %w", at, cur, ErrRaced)
	}
	switch a.Op {
	case OpAside, OpMove:
		if a.Old.Kind == Dir || !sameContent(a.Old, a.New) {
			return fmt.Errorf("only a file or link moves, unchanged: %w", ErrRaced)
		}
		if cur := m.get(a.Path); cur.Present() {
			return fmt.Errorf("target %q is %v: %w", a.Path, cur, ErrRaced)
		}
		if err := m.parentIsDir(a.Path); err != nil {
			return err
		}
		m.set(a.From, false)
		m.set(a.Path, a.New.Present())
	case OpMkdir, OpWrite:
		if (a.Op == OpMkdir) != (a.New.Kind == Dir) || !a.New.Present() || a.Old.Kind == Dir {
			return fmt.Errorf("bad %v of %v over %v: %w", a.Op, a.New, a.Old, ErrRaced)
		}
		if err := m.parentIsDir(a.Path); err != nil {
			return err
		}
		m.set(a.Path, a.New.Present())
	case OpRemove:
		if !a.Old.Present() || a.Old.Kind == Dir && !m.empty(a.Path) {
			return fmt.Errorf("cannot remove %v: %w", a.Old, ErrRaced)
		}
		m.set(a.Path, false)
	case OpSetMeta:
		if !a.Old.Present() || !sameContent(a.Old, a.New) {
			return fmt.Errorf("setmeta changes content: %w", ErrRaced)
		}
		m.set(a.Path, a.New.Present())
	default:
		return fmt.Errorf("unknown op %v: %w", a.Op, ErrRaced)
	}
	return nil
}

// tree merges the overlay into a new Tree in one pass.
func (m *overlay) tree() Tree {
	keys := make([]string, 0, len(m.over))
	for p := range m.over {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, ComparePaths)
	out := make([]record, 0, len(m.base.recs)+len(keys))
	i := 0
	for _, p := range keys {
		for ; i < len(m.base.recs) && ComparePaths(m.base.recs[i].path(), p) < 0; i++ {
			out = append(out, m.base.recs[i])
		}
		if i < len(m.base.recs) && m.base.recs[i].path() == p {
			i++
		}
		if e := m.at(m.over[p]); e.Present() {
			out = append(out, newRecord(p, e))
		}
	}
	out = append(out, m.base.recs[i:]...)
	return Tree{recs: slices.Clip(out)}
}
