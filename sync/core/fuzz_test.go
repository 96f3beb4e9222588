package core

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

var fuzzOpts = Options{Now: time.Date(2026, 12, 5, 10, 20, 30, 0, time.UTC), LocalHost: "lap", RemoteHost: "srv"}

// FuzzReconcile builds an ancestor and two sides edited from it at
// random, reconciles them, applies the plan to both sides with Apply (the
// model, which checks every action's expected state) and checks:
// the sides end equal; reconciling again after Settle plans nothing;
// reconciling equal sides plans nothing; without an ancestor nothing is
// deleted or overwritten; and no content is dropped: every file's content
// and every link's target that either side held is still somewhere, unless
// it was the ancestor's content at that path and the other side changed or
// deleted it there.
func FuzzReconcile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	f.Add([]byte{8, 0, 0, 1, 1, 2, 3, 6, 0, 0, 1, 2, 3, 0, 6, 1, 2, 2, 7, 1, 1, 0, 1, 2, 3})
	f.Add([]byte("\x05\x00a\x01b\x02c\x03d\x04e\x05f\x06g\x07h\x00i\x01j\x02k\x03l"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &bytestream{b: data}
		var clock int64
		a := mtree{}
		a.mutate(s, s.n(20), &clock)
		l, r := a.clone(), a.clone()
		l.mutate(s, s.n(8), &clock)
		r.mutate(s, s.n(8), &clock)
		if s.n(8) == 0 {
			a = mtree{} // a first run, or a lost state
		}
		at, lt, rt := a.tree(t), l.tree(t), r.tree(t)
		plan := checkReconcile(t, at, lt, rt)
		// A run cut short (a crash, a lost connection, a raced action):
		// each side did only the first actions of its list. What was done
		// is settled; the next run must finish the job without losing
		// anything, and must find no conflict the first run did not.
		l2, err := applyBoth(lt, prefix(plan.Local, s.n(plan.Local.Len()+1)))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := applyBoth(rt, prefix(plan.Remote, s.n(plan.Remote.Len()+1)))
		if err != nil {
			t.Fatal(err)
		}
		plan2 := checkReconcile(t, Settle(at, l2, r2), l2, r2)
		if len(plan.Conflicts) == 0 && len(plan2.Conflicts) > 0 {
			t.Fatalf("a cut-short run made conflicts: %v\nfirst run:\n%s", plan2.Conflicts, dump(at, lt, rt, plan))
		}
	})
}

func checkReconcile(t *testing.T, a, l, r Tree) Plan {
	t.Helper()
	var builtin *Ignore // what is ignored is left alone, so compare the rest
	a, l, r = builtin.Apply(a), builtin.Apply(l), builtin.Apply(r)
	plan := Reconcile(a, l, r, fuzzOpts)
	l2, err := applyBoth(l, plan.Local)
	if err != nil {
		t.Fatalf("apply local: %v\n%s", err, dump(a, l, r, plan))
	}
	r2, err := applyBoth(r, plan.Remote)
	if err != nil {
		t.Fatalf("apply remote: %v\n%s", err, dump(a, l, r, plan))
	}
	if !l2.Equal(r2) {
		t.Fatalf("sides differ after the plan:\nlocal  %s\nremote %s\n%s", treeString(l2), treeString(r2), dump(a, l, r, plan))
	}
	a2 := Settle(a, l2, r2)
	if again := Reconcile(a2, l2, r2, fuzzOpts); !again.Empty() {
		t.Fatalf("second reconcile not a no-op: %q %q\n%s", actionStrings(again.Local), actionStrings(again.Remote), dump(a, l, r, plan))
	}
	for _, x := range []Tree{{}, a, l, r} {
		if p := Reconcile(x, l, l, fuzzOpts); !p.Empty() {
			t.Fatalf("reconcile of equal sides: %q %q", actionStrings(p.Local), actionStrings(p.Remote))
		}
	}
	if a.Len() == 0 {
		for _, s := range []Side{Local, Remote} {
			for _, act := range plan.Actions(s).All() {
				if act.Op == OpRemove && act.Old.Kind != Dir || (act.Op == OpWrite || act.Op == OpMkdir) && act.Old.Present() {
					t.Fatalf("without an ancestor the plan deletes or overwrites: %v\n%s", act, dump(a, l, r, plan))
				}
			}
		}
	}
	checkNothingLost(t, a, l, r, l2, plan)
	return plan
}

// checkNothingLost checks that every side's content survived in final,
// at any path, unless it was a propagated deletion or overwrite of
// ancestor content.
func checkNothingLost(t *testing.T, a, l, r, final Tree, plan Plan) {
	t.Helper()
	have := map[Entry]bool{}
	for _, e := range final.All() {
		have[contentKey(e)] = true
	}
	for _, side := range []struct{ mine, other Tree }{{l, r}, {r, l}} {
		for p, e := range side.mine.All() {
			if e.Kind == Dir || have[contentKey(e)] {
				continue
			}
			if sameContent(a.Lookup(p), e) && !sameContent(side.other.Lookup(p), e) {
				continue // unchanged here, changed or deleted there
			}
			t.Fatalf("content of %q (%v) lost\n%s", p, e, dump(a, l, r, plan))
		}
	}
}

// contentKey keeps only what identifies content.
func contentKey(e Entry) Entry {
	return Entry{Kind: e.Kind, Size: e.Size, Hash: e.Hash, Target: e.Target}
}

// applyBoth applies a side's actions to t with the model (Apply, which
// checks each against the state the ones before it left) and as a client
// records them (Actions.Apply, which works from the indices), and fails
// unless both give the same tree.
func applyBoth(t Tree, acts Actions) (Tree, error) {
	want, err := Apply(t, acts.Slice())
	if err != nil {
		return Tree{}, err
	}
	for _, like := range []Tree{{}, t, want} {
		got, err := acts.Apply(t, like)
		if err != nil {
			return Tree{}, fmt.Errorf("Actions.Apply: %w", err)
		}
		if !got.Identical(want) {
			return Tree{}, fmt.Errorf("Actions.Apply gave %s, Apply %s", treeString(got), treeString(want))
		}
	}
	return want, nil
}

// prefix returns the first n of acts, as a run cut short did them.
func prefix(acts Actions, n int) Actions {
	ok := make([]bool, acts.Len())
	for i := range n {
		ok[i] = true
	}
	acts.list = slices.Clone(acts.list)
	acts.Keep(ok)
	return acts
}
