package core

import (
	"slices"
	"testing"
)

// Conflict copy suffixes at fuzzOpts.Now, for the local and remote hosts.
const (
	cl = ".sync-conflict-20261205-102030-lap"
	cr = ".sync-conflict-20261205-102030-srv"
)

// reconcileCase is one row of the reconcile tables: three trees (path,
// entry pairs) and the actions expected on each side, written as
// actionString writes them, in execution order.
type reconcileCase struct {
	name          string
	a, l, r       []any
	local, remote []string
	conflicts     int
	ignore        string // .simplecloudignore content, if any
}

func runReconcileCases(t *testing.T, cases []reconcileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, l, r := mk(t, c.a...), mk(t, c.l...), mk(t, c.r...)
			opts := fuzzOpts
			if c.ignore != "" {
				opts.Ignore = &Ignore{}
				opts.Ignore.Add("", []byte(c.ignore))
			}
			plan := Reconcile(a, l, r, opts)
			want := func(s []string) []string {
				if s == nil {
					return []string{}
				}
				return s
			}
			if got := actionStrings(plan.Local); !slices.Equal(got, want(c.local)) {
				t.Errorf("local actions: got %q, want %q", got, want(c.local))
			}
			if got := actionStrings(plan.Remote); !slices.Equal(got, want(c.remote)) {
				t.Errorf("remote actions: got %q, want %q", got, want(c.remote))
			}
			if len(plan.Conflicts) != c.conflicts {
				t.Errorf("conflicts: got %v, want %d", plan.Conflicts, c.conflicts)
			}
			if c.ignore == "" {
				checkReconcile(t, a, l, r) // the fuzz target's invariants hold for every row
			}
		})
	}
}

// TestReconcileAgree covers paths on which both sides agree, or agree
// with what the ancestor says: nothing to do.
func TestReconcileAgree(t *testing.T) {
	runReconcileCases(t, []reconcileCase{
		{name: "all empty"},
		{name: "all same file", a: []any{"a", file(1)}, l: []any{"a", file(1)}, r: []any{"a", file(1)}},
		{name: "all same dir", a: []any{"d", dir()}, l: []any{"d", dir()}, r: []any{"d", dir()}},
		{name: "all same symlink", a: []any{"s", link("t")}, l: []any{"s", link("t")}, r: []any{"s", link("t")}},
		{name: "all same nested", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dir(), "d/x", file(1)}},
		{name: "both created same file", l: []any{"a", file(1)}, r: []any{"a", file(1)}},
		{name: "both created same dir", l: []any{"d", dir()}, r: []any{"d", dir()}},
		{name: "both created same symlink", l: []any{"s", link("t")}, r: []any{"s", link("t")}},
		{name: "both created same file, mtimes differ", l: []any{"a", fileAt(1, 5)}, r: []any{"a", fileAt(1, 9)}},
		{name: "both deleted file", a: []any{"a", file(1)}},
		{name: "both deleted dir tree", a: []any{"d", dir(), "d/x", file(1), "d/e", dir()}},
		{name: "both modified the same way", a: []any{"a", file(1)}, l: []any{"a", file(2)}, r: []any{"a", file(2)}},
		{name: "local mtime only", a: []any{"a", file(1)}, l: []any{"a", fileAt(1, 5)}, r: []any{"a", file(1)}},
		{name: "both mtimes changed differently", a: []any{"a", file(1)}, l: []any{"a", fileAt(1, 5)}, r: []any{"a", fileAt(1, 7)}},
		{name: "both chmod the same way", a: []any{"a", file(1)}, l: []any{"a", fileMode(1, 0o755)}, r: []any{"a", fileMode(1, 0o755)}},
		{name: "both deleted file, one made it a dir the other too", a: []any{"p", file(1)}, l: []any{"p", dir()}, r: []any{"p", dir()}},
		{name: "both moved a file the same way", a: []any{"a", file(1)}, l: []any{"b", file(1)}, r: []any{"b", file(1)}},
		{name: "ancestor stale where sides agree", a: []any{"a", file(7), "z", dir()}, l: []any{"a", file(1)}, r: []any{"a", file(1)}},
	})
}

// TestReconcileOneSide covers changes made on one side only: they go to
// the other side.
func TestReconcileOneSide(t *testing.T) {
	base := []any{"a", file(1)}
	tree3 := []any{"d", dir(), "d/x", file(1), "d/y", dir(), "d/y/z", file(2)}
	runReconcileCases(t, []reconcileCase{
		{name: "local created file", l: []any{"a", file(1)}, remote: []string{"write a=f1"}},
		{name: "local created empty dir", l: []any{"d", dir()}, remote: []string{"mkdir d=d"}},
		{name: "local created dir with file", l: []any{"d", dir(), "d/x", file(1)}, remote: []string{"mkdir d=d", "write d/x=f1"}},
		{name: "local created symlink", l: []any{"s", link("t")}, remote: []string{"write s=l>t"}},
		{name: "local created file in existing dir", a: []any{"d", dir()}, l: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dir()}, remote: []string{"write d/x=f1"}},
		{name: "local modified file", a: base, l: []any{"a", file(2)}, r: base, remote: []string{"write a=f2"}},
		{name: "local deleted file", a: base, r: base, remote: []string{"remove a"}},
		{name: "local deleted dir tree, deepest first", a: tree3, r: tree3, remote: []string{"remove d/y/z", "remove d/y", "remove d/x", "remove d"}},
		{name: "local chmod file", a: base, l: []any{"a", fileMode(1, 0o755)}, r: base, remote: []string{"setmeta a=f1:755"}},
		{name: "local chmod dir", a: []any{"d", dir()}, l: []any{"d", dirMode(0o700)}, r: []any{"d", dir()}, remote: []string{"setmeta d=d:700"}},
		{name: "local changed symlink target", a: []any{"s", link("t")}, l: []any{"s", link("u")}, r: []any{"s", link("t")}, remote: []string{"write s=l>u"}},
		{name: "local replaced file with dir", a: []any{"p", file(1)}, l: []any{"p", dir(), "p/x", file(2)}, r: []any{"p", file(1)},
			remote: []string{"mkdir p=d", "write p/x=f2"}},
		{name: "local replaced dir with file", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"d", file(2)}, r: []any{"d", dir(), "d/x", file(1)},
			remote: []string{"remove d/x", "remove d", "write d=f2"}},
		{name: "local replaced file with symlink", a: base, l: []any{"a", link("t")}, r: base, remote: []string{"write a=l>t"}},
		{name: "local replaced symlink with file", a: []any{"a", link("t")}, l: []any{"a", file(3)}, r: []any{"a", link("t")}, remote: []string{"write a=f3"}},
		{name: "local replaced dir with symlink", a: []any{"d", dir()}, l: []any{"d", link("t")}, r: []any{"d", dir()}, remote: []string{"remove d", "write d=l>t"}},
		{name: "remote created file", r: []any{"a", file(1)}, local: []string{"write a=f1"}},
		{name: "remote created dir with file", r: []any{"d", dir(), "d/x", file(1)}, local: []string{"mkdir d=d", "write d/x=f1"}},
		{name: "remote created symlink", r: []any{"s", link("t")}, local: []string{"write s=l>t"}},
		{name: "remote modified file", a: base, l: base, r: []any{"a", file(2)}, local: []string{"write a=f2"}},
		{name: "remote deleted file", a: base, l: base, local: []string{"remove a"}},
		{name: "remote deleted dir tree", a: tree3, l: tree3, local: []string{"remove d/y/z", "remove d/y", "remove d/x", "remove d"}},
		{name: "remote chmod file", a: base, l: base, r: []any{"a", fileMode(1, 0o600)}, local: []string{"setmeta a=f1:600"}},
		{name: "remote replaced file with dir", a: base, l: base, r: []any{"a", dir(), "a/x", file(2)}, local: []string{"mkdir a=d", "write a/x=f2"}},
		{name: "remote replaced dir with file", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", file(2)},
			local: []string{"remove d/x", "remove d", "write d=f2"}},
		{name: "remote changed symlink target", a: []any{"s", link("t")}, l: []any{"s", link("t")}, r: []any{"s", link("v")}, local: []string{"write s=l>v"}},
		{name: "remote deleted symlink", a: []any{"s", link("t")}, l: []any{"s", link("t")}, local: []string{"remove s"}},
		{name: "remote deleted file in kept dir", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dir()},
			local: []string{"remove d/x"}},
		{name: "local edits on many paths", a: []any{"a", file(1), "b", file(2), "c", file(3)}, l: []any{"a", file(4), "c", file(3), "d", file(5)},
			r: []any{"a", file(1), "b", file(2), "c", file(3)}, remote: []string{"remove b", "write a=f4", "write d=f5"}},
		{name: "both sides changed different paths", a: []any{"a", file(1), "b", file(2)}, l: []any{"a", file(3), "b", file(2)}, r: []any{"a", file(1), "b", file(4)},
			local: []string{"write b=f4"}, remote: []string{"write a=f3"}},
	})
}
