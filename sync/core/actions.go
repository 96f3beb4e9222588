package core

import (
	"fmt"
	"io/fs"
	"iter"
	"slices"
)

// Actions is one side's actions in execution order, as Reconcile plans
// them. It stores each action in 16 bytes, as indices of the records of
// the trees Reconcile was given (Old is always a record of the side's own
// tree, New one of either side's), rather than as an Action of 184 bytes
// that copies both entries and two paths: an initial sync of 200,000
// files plans 200,000 actions, and the plan is alive while they run. At
// and All give the actions as Action values, one at a time; the trees stay
// alive as long as the Actions does. The zero Actions is empty.
type Actions struct {
	side   Side
	l, r   Tree     // the trees the indices point into
	list   []step   // in execution order
	copies []string // conflict copy paths, by step.copy
}

// step is one action: 16 bytes.
type step struct {
	old  int32  // Old: a record of the side's tree; none when negative
	new  int32  // New: a record of tree in; none when negative
	copy int32  // Path: a conflict copy, by index of copies; none when negative
	mode uint16 // New's permission bits (merged, or as the side answered)
	op   Op
	in   Side // the tree new points into
}

// tree returns the records of side s's tree.
func (s *Actions) tree(side Side) []record {
	if side == Local {
		return s.l.recs
	}
	return s.r.recs
}

// Len returns the number of actions.
func (s *Actions) Len() int { return len(s.list) }

// Op returns the i-th action's op, cheaper than At.
func (s *Actions) Op(i int) Op { return s.list[i].op }

// oldRec and newRec return an action's Old and New records (nil for
// none); newRec's mode is the record's, not the action's.
func (s *Actions) oldRec(st *step) *record {
	if st.old >= 0 {
		return &s.tree(s.side)[st.old]
	}
	return nil
}

func (s *Actions) newRec(st *step) *record {
	if st.new >= 0 {
		return &s.tree(st.in)[st.new]
	}
	return nil
}

// stepPath returns an action's Path: a conflict copy's, or the path of
// the record it removes or makes.
func (s *Actions) stepPath(st *step) string {
	switch {
	case st.copy >= 0:
		return s.copies[st.copy]
	case st.op == OpRemove:
		return s.oldRec(st).path()
	}
	return s.newRec(st).path()
}

// stepFrom returns an action's From.
func (s *Actions) stepFrom(st *step) string {
	switch st.op {
	case OpAside, OpMove:
		return s.oldRec(st).path()
	case OpWrite:
		return s.stepPath(st)
	}
	return ""
}

// newEntry returns the i-th action's New.
func (s *Actions) newEntry(i int) Entry {
	r := s.newRec(&s.list[i])
	if r == nil {
		return Entry{}
	}
	e := r.entry()
	e.Mode = fs.FileMode(s.list[i].mode)
	return e
}

// At returns the i-th action.
func (s *Actions) At(i int) Action {
	st := &s.list[i]
	a := Action{Op: st.op, Path: s.stepPath(st), From: s.stepFrom(st), New: s.newEntry(i)}
	if r := s.oldRec(st); r != nil {
		a.Old = r.entry()
	}
	return a
}

// All iterates over the actions with their indices.
func (s *Actions) All() iter.Seq2[int, Action] {
	return func(yield func(int, Action) bool) {
		for i := range s.list {
			if !yield(i, s.At(i)) {
				return
			}
		}
	}
}

// Slice returns the actions as a slice: for tests and small plans (an
// Action costs 184 bytes).
func (s *Actions) Slice() []Action {
	out := make([]Action, len(s.list))
	for i := range s.list {
		out[i] = s.At(i)
	}
	return out
}

// rebase makes the actions point into l and r, the trees s's trees were
// filtered from (each the same tree or a superset, in the same order).
func (s *Actions) rebase(l, r Tree) {
	ml, mr := subsequence(s.l, l), subsequence(s.r, r)
	s.l, s.r = l, r
	if ml == nil && mr == nil {
		return
	}
	at := func(side Side, i int32) int32 {
		m := ml
		if side == Remote {
			m = mr
		}
		if m == nil || i < 0 {
			return i
		}
		return m[i]
	}
	for i := range s.list {
		st := &s.list[i]
		st.old, st.new = at(s.side, st.old), at(st.in, st.new)
	}
}

// subsequence returns, for each record of sub, its index in t, where sub
// is t with records left out; nil when sub is t.
func subsequence(sub, t Tree) []int32 {
	if len(sub.recs) == len(t.recs) {
		return nil
	}
	m := make([]int32, len(sub.recs))
	j := 0
	for i := range sub.recs {
		for t.recs[j].key != sub.recs[i].key {
			j++
		}
		m[i] = int32(j)
		j++
	}
	return m
}

// SetMode records the permission bits the side gave the i-th action's New
// (a server applies its umask; a directory that existed keeps its own):
// the one thing about New an executor learns. It is safe to call for
// different actions at once.
func (s *Actions) SetMode(i int, m fs.FileMode) { s.list[i].mode = uint16(m & PermMask) }

// Keep keeps the actions i for which ok[i] is true, in order: those an
// executor carried out, whose outcome Apply then records.
func (s *Actions) Keep(ok []bool) {
	k := 0
	for i := range s.list {
		if ok[i] {
			s.list[k] = s.list[i]
			k++
		}
	}
	s.list = slices.Clip(s.list[:k])
}

// change is one path an action sets: its Path, or (from) its From, which
// an aside or a move leaves empty.
type change struct {
	i    int32
	from bool
}

// Apply returns t, the side's tree (the one given to Reconcile, or the
// same before ignore rules took paths out of it), after the actions: the
// tree a client records after executing a plan, having kept (Keep) only
// the actions that succeeded. Unlike the function Apply, the model that
// checks each action against the state the ones before it left, it only
// checks the result's shape (every entry's parent a directory); it costs
// 8 bytes per action besides the new tree, where a map of the paths cost
// 40. With no actions it returns t itself.
//
// like is a tree the result may well be Identical to: the other side's
// tree after a run that brought both sides into step. When it is, Apply
// returns like itself rather than a second copy of it (14 MB for the
// server's tree after a first sync of 200,000 files).
func (s *Actions) Apply(t, like Tree) (Tree, error) {
	if len(s.list) == 0 {
		return t, nil
	}
	chs := make([]change, 0, len(s.list))
	for i, st := range s.list {
		if st.op == OpAside || st.op == OpMove {
			chs = append(chs, change{i: int32(i), from: true})
		}
		chs = append(chs, change{i: int32(i)})
	}
	// By path, and on one path in plan order, so that the last change of
	// each path is the last of its run.
	slices.SortFunc(chs, func(x, y change) int {
		if c := ComparePaths(s.changePath(x), s.changePath(y)); c != 0 {
			return c
		}
		return int(x.i - y.i)
	})
	n, same := 0, true // same: the result so far is like.recs[:n]
	s.merge(t, chs, func(r record) {
		if same && (n >= len(like.recs) || like.recs[n] != r) {
			same = false
		}
		n++
	})
	if same && n == len(like.recs) {
		return like, nil
	}
	out := make([]record, 0, n)
	s.merge(t, chs, func(r record) { out = append(out, r) })
	if err := checkShape(out); err != nil {
		return Tree{}, fmt.Errorf("apply: %w", err)
	}
	return Tree{recs: out}, nil
}

// merge calls emit for each record of t after the changes chs (sorted by
// path), in path order.
func (s *Actions) merge(t Tree, chs []change, emit func(record)) {
	base := t.recs
	i := 0
	for k := 0; k < len(chs); k++ {
		p := s.changePath(chs[k])
		for k+1 < len(chs) && s.changePath(chs[k+1]) == p {
			k++ // the last change of p decides
		}
		for ; i < len(base) && ComparePaths(base[i].path(), p) < 0; i++ {
			emit(base[i])
		}
		if i < len(base) && base[i].path() == p {
			i++
		}
		c := chs[k]
		if c.from || s.list[c.i].op == OpRemove {
			continue
		}
		r := *s.newRec(&s.list[c.i])
		if s.list[c.i].copy >= 0 {
			r = newRecord(p, r.entry())
		}
		r.mode = s.list[c.i].mode
		emit(r)
	}
	for ; i < len(base); i++ {
		emit(base[i])
	}
}

func (s *Actions) changePath(c change) string {
	if c.from {
		return s.stepFrom(&s.list[c.i])
	}
	return s.stepPath(&s.list[c.i])
}

// Counts sums up the actions: what --json reports and what SafetyCheck
// weighs against the side's size.
func (s *Actions) Counts() Counts {
	var c Counts
	for i := range s.list {
		st := &s.list[i]
		switch st.op {
		case OpWrite:
			c.Written++
			if r := s.newRec(st); r.kind == File {
				c.Bytes += r.size
			}
		case OpRemove:
			if s.oldRec(st).kind != Dir {
				c.Deleted++
			}
		case OpMkdir:
			c.Dirs++
			if st.old >= 0 {
				c.Deleted++
			}
		case OpMove:
			c.Moved++
		}
	}
	return c
}
