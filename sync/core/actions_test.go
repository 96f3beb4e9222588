package core

import (
	"slices"
	"testing"
	"unsafe"
)

// TestActionSize pins what an action costs a plan: 16 bytes, against 184
// for an Action (an initial sync of 200,000 files plans 200,000).
func TestActionSize(t *testing.T) {
	if got := unsafe.Sizeof(step{}); got != 16 {
		t.Errorf("got %d bytes a step, want 16", got)
	}
}

// TestActionsIgnored: with ignored entries on both sides, the plan is the
// one for the trees without them, its actions point into the trees as
// given (not into the smaller copies the ignore rules made, which the
// plan would otherwise keep alive), and Actions.Apply keeps the ignored
// entries of the tree it is given.
func TestActionsIgnored(t *testing.T) {
	l := mk(t, "a~", file(9), "d", dir(), "d/a", file(1), "d/a.swp", file(2), "e", dir(), "e/m", file(5))
	r := mk(t, "d", dir(), "d/b", file(3), "d/b~", file(4), "f", dir(), "f/m", file(5))
	var builtin *Ignore
	want := Reconcile(Tree{}, builtin.Apply(l), builtin.Apply(r), fuzzOpts)
	got := Reconcile(Tree{}, l, r, fuzzOpts)
	for _, s := range []Side{Local, Remote} {
		g, w := actionStrings(*got.Actions(s)), actionStrings(*want.Actions(s))
		if !slices.Equal(g, w) {
			t.Errorf("%v: got %q, want %q", s, g, w)
		}
	}
	if &got.Local.l.recs[0] != &l.recs[0] || &got.Remote.r.recs[0] != &r.recs[0] {
		t.Error("the plan points into the filtered copies of the trees, not the trees given")
	}
	l2, err := got.Local.Apply(l, Tree{})
	if err != nil {
		t.Fatal(err)
	}
	wantL := mk(t, "a~", file(9), "d", dir(), "d/a", file(1), "d/a.swp", file(2), "d/b", file(3), "e", dir(), "e/m", file(5), "f", dir(), "f/m", file(5))
	if !l2.Identical(wantL) {
		t.Errorf("local after the plan: got %s, want %s", treeString(l2), treeString(wantL))
	}
	r2, err := got.Remote.Apply(r, Tree{})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := want.Remote.Apply(builtin.Apply(r), Tree{}); !builtin.Apply(r2).Identical(w) || r2.Lookup("d/b~") != file(4) {
		t.Errorf("remote after the plan: got %s, want %s and d/b~", treeString(r2), treeString(w))
	}
}

// TestActionsApplyLike: a side's tree after the plan is the other side's
// own tree when it is Identical to it (an initial sync records one tree,
// not two), and a copy of its own when one answer differs.
func TestActionsApplyLike(t *testing.T) {
	l := mk(t, "d", dir(), "d/a", file(1), "s", link("d/a"))
	plan := Reconcile(Tree{}, l, Tree{}, fuzzOpts)
	r2, err := plan.Remote.Apply(Tree{}, l)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Identical(l) || &r2.recs[0] != &l.recs[0] {
		t.Errorf("got %s, want the local tree itself", treeString(r2))
	}
	for i, a := range plan.Remote.All() {
		if a.Path == "d/a" {
			plan.Remote.SetMode(i, 0o600) // the server's umask
		}
	}
	r2, err = plan.Remote.Apply(Tree{}, l)
	if err != nil {
		t.Fatal(err)
	}
	want := mk(t, "d", dir(), "d/a", fileMode(1, 0o600), "s", link("d/a"))
	if !r2.Identical(want) || &r2.recs[0] == &l.recs[0] {
		t.Errorf("got %s, want %s in a tree of its own", treeString(r2), treeString(want))
	}
}
