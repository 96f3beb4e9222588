package client

import (
	"testing"
	"time"

	"simplecloud/sync/core"
)

func mkTree(t *testing.T, es map[string]core.Entry) core.Tree {
	t.Helper()
	var b core.Builder
	for p, e := range es {
		if err := b.Add(p, e); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var (
	dirE  = core.Entry{Kind: core.Dir, Mode: 0o755}
	fileA = core.Entry{Kind: core.File, Mode: 0o644, Size: 5, MTime: 100, Hash: core.Digest{1}}
	fileB = core.Entry{Kind: core.File, Mode: 0o644, Size: 7, MTime: 200, Hash: core.Digest{2}}
)

func TestHeldBorrow(t *testing.T) {
	anc := mkTree(t, map[string]core.Entry{"d": dirE, "d/same": fileA, "d/changed": fileA})
	unknown := fileA
	unknown.Hash = core.Digest{}
	moved := fileA
	moved.Hash, moved.MTime = core.Digest{}, 101
	snap := mkTree(t, map[string]core.Entry{"d": dirE, "d/same": unknown, "d/changed": moved, "d/new": unknown})
	h := held{"d/same": true, "d/changed": true, "d/new": true}
	got, err := h.borrow(anc, snap)
	if err != nil {
		t.Fatal(err)
	}
	if e := got.Lookup("d/same"); e.Hash != fileA.Hash || h["d/same"] {
		t.Errorf("d/same: got %v, held %v, want the ancestor's hash and not held", e, h["d/same"])
	}
	for _, p := range []string{"d/changed", "d/new"} {
		if !h[p] || got.Lookup(p).Hash != (core.Digest{}) {
			t.Errorf("%s: got held %v, %v, want held without a hash", p, h[p], got.Lookup(p))
		}
	}
}

// TestHeldRestoreAvoidsConflict runs the reconcile of two runs: in the
// first a file the ancestor knows is busy locally (held); in the second it
// was edited locally and not on the server. With the held entry restored
// in the ancestor the edit is an upload; without, both sides look new and
// the edit becomes a conflict copy.
func TestHeldRestoreAvoidsConflict(t *testing.T) {
	opt := core.Options{Now: time.Unix(0, 0), LocalHost: "l", RemoteHost: "r"}
	anc := mkTree(t, map[string]core.Entry{"d": dirE, "d/f": fileA, "d/g": fileA})
	busy := fileA
	busy.Hash = core.Digest{}
	local1 := mkTree(t, map[string]core.Entry{"d": dirE, "d/f": busy, "d/g": fileA})
	remote1 := mkTree(t, map[string]core.Entry{"d": dirE, "d/f": fileA, "d/g": fileA})
	h := held{"d/f": true}
	a, l, r := h.filter(anc), h.filter(local1), h.filter(remote1)
	if l.Lookup("d/f").Present() || a.Lookup("d/f").Present() {
		t.Fatal("filter left the held path")
	}
	plan := core.Reconcile(a, l, r, opt)
	if !plan.Empty() {
		t.Fatalf("run 1: got %v, want nothing done", plan)
	}
	next, err := h.restore(core.Settle(a, l, r), anc)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Lookup("d/f"); got != fileA {
		t.Fatalf("restored ancestor d/f: got %v, want %v", got, fileA)
	}
	local2 := mkTree(t, map[string]core.Entry{"d": dirE, "d/f": fileB, "d/g": fileA})
	plan = core.Reconcile(next, local2, remote1, opt)
	if len(plan.Conflicts) != 0 || plan.Remote.Len() != 1 || plan.Remote.At(0).Op != core.OpWrite {
		t.Errorf("run 2: got %+v, want one upload and no conflict", plan)
	}
}

func TestHeldRestoreSubtree(t *testing.T) {
	anc := mkTree(t, map[string]core.Entry{"d": dirE, "d/x": fileA, "d/x2": dirE, "d/x2/y": fileA, "e": dirE, "e/z": fileA})
	settled := mkTree(t, map[string]core.Entry{"d": dirE})
	h := held{"d/x2": true, "e/z": true} // an unlistable directory; a file whose parent is gone
	got, err := h.restore(settled, anc)
	if err != nil {
		t.Fatal(err)
	}
	want := mkTree(t, map[string]core.Entry{"d": dirE, "d/x2": dirE, "d/x2/y": fileA})
	if !got.Equal(want) {
		t.Errorf("got %d entries, want d, d/x2, d/x2/y", got.Len())
	}
}

// TestHeldRoot: a local folder that could not be listed is an empty tree
// with its root held; nothing may be planned from it, least of all the
// server's files deleted or downloaded into it.
func TestHeldRoot(t *testing.T) {
	anc := mkTree(t, map[string]core.Entry{"a": fileA, "b": fileA, "c": fileA, "d": fileA})
	remote := mkTree(t, map[string]core.Entry{"a": fileA, "b": fileA, "c": fileA, "d": fileA, "new": fileB})
	h := held{"": true}
	plan := core.Reconcile(h.filter(anc), h.filter(core.Tree{}), h.filter(remote), core.Options{})
	if !plan.Empty() {
		t.Errorf("got %+v, want nothing planned", plan)
	}
}
