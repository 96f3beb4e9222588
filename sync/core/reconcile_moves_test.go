package core

import "testing"

// TestReconcileMoves covers moves and renames found by content hash.
func TestReconcileMoves(t *testing.T) {
	base := []any{"a", file(1)}
	two := []any{"d", dir(), "d/x", file(1), "d/y", file(2)}
	runReconcileCases(t, []reconcileCase{
		{name: "local renamed file", a: base, l: []any{"b", file(1)}, r: base, remote: []string{"move b<-a"}},
		{name: "remote renamed file", a: base, l: base, r: []any{"b", file(1)}, local: []string{"move b<-a"}},
		{name: "local renamed dir", a: two, l: []any{"e", dir(), "e/x", file(1), "e/y", file(2)}, r: two,
			remote: []string{"mkdir e=d", "move e/x<-d/x", "move e/y<-d/y", "remove d"}},
		{name: "remote renamed dir", a: two, l: two, r: []any{"e", dir(), "e/x", file(1), "e/y", file(2)},
			local: []string{"mkdir e=d", "move e/x<-d/x", "move e/y<-d/y", "remove d"}},
		{name: "local moved file into a new dir", a: base, l: []any{"n", dir(), "n/a", file(1)}, r: base,
			remote: []string{"mkdir n=d", "move n/a<-a"}},
		{name: "local moved file out of a dir it deleted", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"x", file(1)}, r: []any{"d", dir(), "d/x", file(1)},
			remote: []string{"move x<-d/x", "remove d"}},
		{name: "local moved and chmodded", a: base, l: []any{"b", fileMode(1, 0o755)}, r: base, remote: []string{"move b<-a=f1:755"}},
		{name: "local moved and edited: no move", a: base, l: []any{"b", file(2)}, r: base, remote: []string{"remove a", "write b=f2"}},
		{name: "local copied: no move", a: base, l: []any{"a", file(1), "b", file(1)}, r: base, remote: []string{"write b=f1"}},
		{name: "local swapped two files: writes, not moves", a: []any{"a", file(1), "b", file(2)}, l: []any{"a", file(2), "b", file(1)},
			r: []any{"a", file(1), "b", file(2)}, remote: []string{"write a=f2", "write b=f1"}},
		{name: "two copies deleted, one new: one move, one removal", a: []any{"a", file(1), "b", file(1)}, l: []any{"c", file(1)},
			r: []any{"a", file(1), "b", file(1)}, remote: []string{"move c<-a", "remove b"}},
		{name: "a move prefers the same name", a: []any{"d", dir(), "d/f", file(1), "e", dir(), "e/g", file(1)},
			l: []any{"d", dir(), "e", dir(), "n", dir(), "n/g", file(1)}, r: []any{"d", dir(), "d/f", file(1), "e", dir(), "e/g", file(1)},
			remote: []string{"mkdir n=d", "move n/g<-e/g", "remove d/f"}},
		{name: "move onto a path that holds a dir: no move", a: []any{"a", file(1), "b", dir()}, l: []any{"b", file(1)}, r: []any{"a", file(1), "b", dir()},
			remote: []string{"remove b", "remove a", "write b=f1"}},
		{name: "both renamed the same file differently", a: base, l: []any{"b", file(1)}, r: []any{"c", file(1)},
			local: []string{"write c=f1"}, remote: []string{"write b=f1"}},
		{name: "local deleted, remote created same content elsewhere: no move locally", a: base, r: []any{"a", file(1), "b", file(1)},
			local: []string{"write b=f1"}, remote: []string{"remove a"}},
		{name: "rename into the place of a deleted file", a: []any{"a", file(1), "b", file(2)}, l: []any{"b", file(1)},
			r: []any{"a", file(1), "b", file(2)}, remote: []string{"remove a", "write b=f1"}},
		{name: "move of a symlink is a write", a: []any{"s", link("t")}, l: []any{"u", link("t")}, r: []any{"s", link("t")},
			remote: []string{"remove s", "write u=l>t"}},
		{name: "nested rename with a new file inside", a: two, l: []any{"e", dir(), "e/x", file(1), "e/y", file(2), "e/z", file(3)}, r: two,
			remote: []string{"mkdir e=d", "move e/x<-d/x", "move e/y<-d/y", "remove d", "write e/z=f3"}},
	})
}

// TestReconcileNoAncestor covers a first run, or a run after the state
// was lost: everything merges, nothing is deleted.
func TestReconcileNoAncestor(t *testing.T) {
	runReconcileCases(t, []reconcileCase{
		{name: "disjoint files", l: []any{"a", file(1)}, r: []any{"b", file(2)}, local: []string{"write b=f2"}, remote: []string{"write a=f1"}},
		{name: "disjoint files in one dir", l: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dir(), "d/y", file(2)},
			local: []string{"write d/y=f2"}, remote: []string{"write d/x=f1"}},
		{name: "local only", l: []any{"a", file(1), "d", dir(), "d/x", file(2)}, remote: []string{"mkdir d=d", "write a=f1", "write d/x=f2"}},
		{name: "remote only", r: []any{"a", file(1), "s", link("a")}, local: []string{"write a=f1", "write s=l>a"}},
		{name: "same dir, different modes", l: []any{"d", dirMode(0o700)}, r: []any{"d", dirMode(0o750)}, remote: []string{"setmeta d=d:700"}},
		{name: "new dirs with different files", l: []any{"n", dir(), "n/a", file(1)}, r: []any{"n", dir(), "n/b", file(2)},
			local: []string{"write n/b=f2"}, remote: []string{"write n/a=f1"}},
		{name: "symlink against dir", l: []any{"p", link("t")}, r: []any{"p", dir()},
			local: []string{"aside p" + cl + "<-p", "mkdir p=d"}, remote: []string{"write p" + cl + "=l>t"}, conflicts: 1},
	})
}

// TestReconcileIgnore covers ignored paths: never synced, never deleted.
func TestReconcileIgnore(t *testing.T) {
	runReconcileCases(t, []reconcileCase{
		{name: "vim swap file", l: []any{".a.txt.swp", file(1)}},
		{name: "sync temp file", r: []any{TempPrefix + "123", file(1)}},
		{name: "state dir", r: []any{StateDir, dir(), StateDir + "/versions", dir(), StateDir + "/versions/a", file(1)}},
		{name: "emacs and office scratch files", l: []any{"#a#", file(1), ".#a", link("u@h.1"), "~$doc.docx", file(2), ".~lock.x.odt#", file(3)}},
		{name: "ignore file itself is synced", l: []any{IgnoreFile, file(1)}, remote: []string{"write " + IgnoreFile + "=f1"}},
		{name: "pattern", ignore: "*.log\n", l: []any{"x.log", file(1), "y.txt", file(2)}, remote: []string{"write y.txt=f2"}},
		{name: "newly ignored path is not deleted on the other side", ignore: "*.log\n", a: []any{"x.log", file(1)}, r: []any{"x.log", file(1)}},
		{name: "ignored dir and everything below", ignore: "build/\n", l: []any{"build", dir(), "build/o", file(1), "src", dir()},
			remote: []string{"mkdir src=d"}},
		{name: "negation", ignore: "*.log\n!keep.log\n", l: []any{"x.log", file(1), "keep.log", file(2)}, remote: []string{"write keep.log=f2"}},
	})
}
