package core

import "fmt"

// Graft returns the tree of the entries added to b and, of base, every
// entry directly in a directory that same marks, and resets the builder:
// a snapshot rebuilt from a listing that left out the directories whose
// contents base already holds. Directories are marked by number: the root
// is 0 and base's directories are numbered from 1 in path order (the
// order All reports them in). Graft fails as Build does, also when an
// added entry lies directly in a marked directory (a duplicate or a
// parent that is missing). With nothing added and every entry of base
// kept it returns base itself, sharing its records.
func (b *Builder) Graft(base Tree, same []bool) (Tree, error) {
	add := b.take()
	keep := make([]bool, len(base.recs))
	kept := 0
	type open struct {
		path string
		n    int
	}
	stack := []open{{"", 0}}
	next := 0
	for i := range base.recs {
		r := &base.recs[i]
		p := r.path()
		parent := Parent(p)
		for len(stack) > 1 && stack[len(stack)-1].path != parent {
			stack = stack[:len(stack)-1]
		}
		if n := stack[len(stack)-1].n; n < len(same) && same[n] {
			keep[i] = true
			kept++
		}
		if r.kind == Dir {
			next++
			stack = append(stack, open{p, next})
		}
	}
	if len(add) == 0 && kept == len(base.recs) {
		return base, nil
	}
	out := make([]record, 0, len(add)+kept)
	j := 0
	for i := range base.recs {
		if !keep[i] {
			continue
		}
		for j < len(add) && ComparePaths(add[j].path(), base.recs[i].path()) < 0 {
			out = append(out, add[j])
			j++
		}
		out = append(out, base.recs[i])
	}
	out = append(out, add[j:]...)
	if len(out) == 0 {
		return Tree{}, nil
	}
	if err := checkShape(out); err != nil {
		return Tree{}, fmt.Errorf("graft tree: %w", err)
	}
	return Tree{recs: out}, nil
}
