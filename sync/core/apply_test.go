package core

import (
	"errors"
	"testing"
)

// TestApplyRefuses checks the model's compare-and-swap and shape checks:
// each action here is wrong for the tree, as a raced executor would find.
func TestApplyRefuses(t *testing.T) {
	tr := mk(t, "a", file(1), "d", dir(), "d/x", file(2), "s", link("t"))
	tests := []struct {
		name string
		act  Action
	}{
		{"write over a changed file", Action{Op: OpWrite, Path: "a", Old: file(9), New: file(3)}},
		{"write over a file expected absent", Action{Op: OpWrite, Path: "a", New: file(3)}},
		{"write over a dir", Action{Op: OpWrite, Path: "d", Old: dir(), New: file(3)}},
		{"write with a file as parent", Action{Op: OpWrite, Path: "a/b", New: file(3)}},
		{"write with a missing parent", Action{Op: OpWrite, Path: "n/b", New: file(3)}},
		{"mkdir of a file", Action{Op: OpMkdir, Path: "n", New: file(3)}},
		{"remove a non-empty dir", Action{Op: OpRemove, Path: "d", Old: dir()}},
		{"remove a file whose mtime changed", Action{Op: OpRemove, Path: "a", Old: fileAt(1, 5)}},
		{"remove a retargeted link", Action{Op: OpRemove, Path: "s", Old: link("u")}},
		{"remove nothing", Action{Op: OpRemove, Path: "zz"}},
		{"move onto an existing path", Action{Op: OpMove, Path: "d/x", From: "a", Old: file(1), New: file(1)}},
		{"move with changed content", Action{Op: OpMove, Path: "b", From: "a", Old: file(1), New: file(2)}},
		{"move a dir", Action{Op: OpMove, Path: "e", From: "d", Old: dir(), New: dir()}},
		{"move from a missing path", Action{Op: OpMove, Path: "b", From: "zz", Old: file(1), New: file(1)}},
		{"setmeta changing content", Action{Op: OpSetMeta, Path: "a", Old: file(1), New: file(2)}},
		{"bad path", Action{Op: OpWrite, Path: "../a", New: file(1)}},
		{"unknown op", Action{Op: 99, Path: "a", Old: file(1)}},
	}
	for _, tt := range tests {
		if _, err := Apply(tr, []Action{tt.act}); err == nil {
			t.Errorf("%s: got nil, want an error", tt.name)
		} else if tt.name != "bad path" && !errors.Is(err, ErrRaced) {
			t.Errorf("%s: got %v, want ErrRaced", tt.name, err)
		}
	}
}

func TestApplySequence(t *testing.T) {
	tr := mk(t, "a", file(1), "d", dir(), "d/x", file(2))
	got, err := Apply(tr, []Action{
		{Op: OpAside, Path: "a.old", From: "a", Old: file(1), New: file(1)},
		{Op: OpMkdir, Path: "a", New: dir()},
		{Op: OpMove, Path: "a/x", From: "d/x", Old: file(2), New: fileMode(2, 0o600)},
		{Op: OpRemove, Path: "d", Old: dir()},
		{Op: OpWrite, Path: "d", New: link("a")},
		{Op: OpSetMeta, Path: "a", Old: dir(), New: dirMode(0o700)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{a=d:700 a/x=f2:600 a.old=f1 d=l>a}"; treeString(got) != want {
		t.Errorf("got %s, want %s", treeString(got), want)
	}
	if treeString(tr) != "{a=f1 d=d d/x=f2}" {
		t.Errorf("Apply changed its input: %s", treeString(tr))
	}
}

func TestSettle(t *testing.T) {
	a := mk(t, "a", file(1), "b", file(2), "c", file(3), "gone", file(4))
	l := mk(t, "a", fileAt(1, 77), "b", file(5), "n", file(6), "p", dirMode(0o700), "p/x", file(7))
	r := mk(t, "a", file(1), "b", file(8), "c", file(3), "n", file(6), "p", dirMode(0o750), "p/x", file(7))
	got := Settle(a, l, r)
	// a agreed (local's mtime kept), b disputed (ancestor kept), c only on
	// one side (ancestor kept), gone on neither (dropped), n agreed, p
	// disputed with no ancestor: a directory with the bits both have.
	if want := "{a=f1 b=f2 c=f3 n=f6 p=d:700 p/x=f7}"; treeString(got) != want {
		t.Errorf("got %s, want %s", treeString(got), want)
	}
	if got.Lookup("a").MTime != 77 {
		t.Errorf("agreed entry: got mtime %d, want the local side's 77", got.Lookup("a").MTime)
	}
}

// TestSettleShares checks that Settle returns local itself when the
// result is local (a converged run: no copy of the tree), and a correct
// copy when the result departs from local anywhere: first, in the
// middle, or last.
func TestSettleShares(t *testing.T) {
	l := mk(t, "a", file(1), "b", file(2), "c", file(3))
	got := Settle(mk(t, "a", file(9)), l, mk(t, "a", file(1), "b", file(2), "c", file(3)))
	if got.Len() != 3 || &got.recs[0] != &l.recs[0] {
		t.Errorf("converged: got %s (shared %v), want local itself", treeString(got), got.Len() > 0 && &got.recs[0] == &l.recs[0])
	}
	for _, c := range []struct {
		name    string
		a, r    Tree
		want    string
		diverge bool
	}{
		{"first differs", mk(t, "a", file(7)), mk(t, "a", file(8), "b", file(2), "c", file(3)), "{a=f7 b=f2 c=f3}", true},
		{"middle differs", mk(t, "b", file(7)), mk(t, "a", file(1), "b", file(8), "c", file(3)), "{a=f1 b=f7 c=f3}", true},
		{"last dropped", Tree{}, mk(t, "a", file(1), "b", file(2)), "{a=f1 b=f2}", true},
		{"extra from ancestor", mk(t, "d", file(4)), mk(t, "a", file(1), "b", file(2), "c", file(3), "d", file(5)), "{a=f1 b=f2 c=f3 d=f4}", true},
		{"gone on both", mk(t, "d", file(4)), mk(t, "a", file(1), "b", file(2), "c", file(3)), "{a=f1 b=f2 c=f3}", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Settle(c.a, l, c.r)
			if treeString(got) != c.want {
				t.Errorf("got %s, want %s", treeString(got), c.want)
			}
			if c.diverge && got.Len() > 0 && &got.recs[0] == &l.recs[0] {
				t.Errorf("got a tree sharing local's records, want a copy")
			}
		})
	}
	if treeString(l) != "{a=f1 b=f2 c=f3}" {
		t.Errorf("Settle changed its input: %s", treeString(l))
	}
}

// TestApplyNothing checks that Apply with no actions returns the tree
// itself, not a copy.
func TestApplyNothing(t *testing.T) {
	tr := mk(t, "a", file(1))
	got, err := Apply(tr, nil)
	if err != nil || &got.recs[0] != &tr.recs[0] {
		t.Errorf("got %s, %v (shared %v), want the tree itself", treeString(got), err, err == nil && &got.recs[0] == &tr.recs[0])
	}
}
