package core

import (
	"fmt"
	"testing"
)

// TestEqualSidesShortcut checks the shortcut Reconcile and Settle take
// for sides that are Equal: sides that differ in any one thing a plan
// carries (a file's content, size or bits, a directory's bits, a link's
// target, a kind, one path more or less, first or last) still get the
// actions of the full walk, while sides that differ in mtimes only get
// none, and Settle returns local itself whatever the ancestor held (its
// walk, for sides that differ, is TestSettle's).
func TestEqualSidesShortcut(t *testing.T) {
	base := []any{"a", file(1), "d", dir(), "d/x", file(2), "s", link("t")}
	with := func(p string, e Entry) []any {
		out := append([]any(nil), base...)
		for i := 0; i < len(out); i += 2 {
			if out[i] == p {
				out[i+1] = e
				return out
			}
		}
		t.Fatalf("no %s in the base", p)
		return nil
	}
	for _, c := range []struct {
		name string
		r    []any
		want string // the local side's actions
	}{
		{"content, same size", with("a", Entry{Kind: File, Mode: 0o644, Size: 100, MTime: 1000, Hash: Digest{9}}), "[write a=f9]"},
		{"size", with("a", Entry{Kind: File, Mode: 0o644, Size: 101, MTime: 1000, Hash: Digest{1}}), "[write a=f1]"},
		{"file bits", with("a", fileMode(1, 0o600)), "[setmeta a=f1:600]"},
		{"directory bits", with("d", dirMode(0o700)), "[setmeta d=d:700]"},
		{"link target", with("s", link("u")), "[write s=l>u]"},
		{"kind", with("s", file(3)), "[write s=f3]"},
		{"a path more, first", append([]any{"0", file(4)}, base...), "[write 0=f4]"},
		{"a path more, last", append(append([]any(nil), base...), "z", file(5)), "[write z=f5]"},
		{"a path less, last", base[:len(base)-2], "[remove s]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, l, r := mk(t, base...), mk(t, base...), mk(t, c.r...)
			p := Reconcile(a, l, r, Options{})
			if got := fmt.Sprint(actionStrings(p.Local)); got != c.want || p.Remote.Len() != 0 {
				t.Errorf("local actions %s, remote %q; want %s and none", got, actionStrings(p.Remote), c.want)
			}
		})
	}
	// Mtimes differ, the ancestor is stale (a path the sides deleted, one
	// whose content they both changed): nothing to do, local recorded.
	a := mk(t, "a", file(7), "gone", file(8))
	l := mk(t, append(with("a", fileAt(1, 5)), "z", fileAt(6, 1))...)
	r := mk(t, append(with("a", fileAt(1, 9)), "z", fileAt(6, 2))...)
	if p := Reconcile(a, l, r, Options{}); !p.Empty() || len(p.Conflicts) > 0 || p.Local.Counts() != (Counts{}) {
		t.Errorf("equal sides: got %s", dump(a, l, r, p))
	}
	got := Settle(a, l, r)
	if !got.Identical(l) || &got.recs[0] != &l.recs[0] {
		t.Errorf("Settle of equal sides: got %s, want local itself", treeString(got))
	}
}

// TestRecordSame checks that Equal's record comparison is Same, path
// included, for every pair of a set of entries that differ from each
// other in one thing each (Same's fields, and the mtime Same ignores).
func TestRecordSame(t *testing.T) {
	es := []Entry{file(1), fileAt(1, 5), fileMode(1, 0o600), file(2),
		{Kind: File, Mode: 0o644, Size: 101, MTime: 1000, Hash: Digest{1}},
		dir(), dirMode(0o700), Entry{Kind: Dir, Mode: 0o755, MTime: 9},
		link("t"), link("u"), Entry{Kind: Symlink, Target: "t", MTime: 3}}
	for _, p := range []string{"a", "b"} {
		for _, x := range es {
			for _, y := range es {
				rx, ry := newRecord("a", x), newRecord(p, y)
				want := p == "a" && Same(x, y)
				if got := rx.same(&ry); got != want {
					t.Errorf("a=%v, %s=%v: same %v, want %v", x, p, y, got, want)
				}
				if got := mk(t, "a", x).Equal(mk(t, p, y)); got != want {
					t.Errorf("trees a=%v, %s=%v: Equal %v, want %v", x, p, y, got, want)
				}
			}
		}
	}
}

// TestShareStringsMixed checks ShareStrings on trees that interleave:
// paths only one holds (before, between and after the other's, in
// ComparePaths order, where "/" sorts first), a link whose target
// differs: every key both hold is stored once afterwards, and no entry
// changes (the link keeps its own target).
func TestShareStringsMixed(t *testing.T) {
	tPairs := []any{"0", file(1), "a", dir(), "a/b", file(2), "a/c", link("x"), "a-b", file(3), "m", file(4), "z", dir()}
	uPairs := []any{"a", dir(), "a/a", file(5), "a/b", file(6), "a/c", link("y"), "a-b", file(3), "n", file(7), "z", dir(), "z/q", file(8)}
	tr, u := mk(t, tPairs...), mk(t, uPairs...)
	before := mk(t, tPairs...)
	tr.ShareStrings(u)
	if !tr.Identical(before) {
		t.Fatalf("ShareStrings changed entries: %s, want %s", treeString(tr), treeString(before))
	}
	for i := range tr.recs {
		k := tr.recs[i].key
		for j := range u.recs {
			if u.recs[j].key == k && unsafeStringData(k) != unsafeStringData(u.recs[j].key) {
				t.Errorf("%q: held by both, stored twice", k)
			}
		}
	}
	for _, p := range []string{"a", "a/b", "a-b", "z"} {
		i, _ := tr.index(p)
		j, _ := u.index(p)
		if unsafeStringData(tr.recs[i].key) != unsafeStringData(u.recs[j].key) {
			t.Errorf("%q: not shared", p)
		}
	}
	i, _ := tr.index("a/c")
	if tr.recs[i].path() != "a/c" || tr.Lookup("a/c").Target != "x" {
		t.Errorf("a/c: got %v, want the link to x kept", tr.Lookup("a/c"))
	}
}
