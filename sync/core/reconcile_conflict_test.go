package core

import "testing"

// TestReconcileConflicts covers paths both sides changed: merged where
// the changes do not overlap, otherwise both versions kept.
func TestReconcileConflicts(t *testing.T) {
	base := []any{"a", file(1)}
	runReconcileCases(t, []reconcileCase{
		{name: "both modified, remote newer", a: base, l: []any{"a", fileAt(2, 2000)}, r: []any{"a", fileAt(3, 3000)},
			local: []string{"aside a" + cl + "<-a", "write a=f3"}, remote: []string{"write a" + cl + "=f2"}, conflicts: 1},
		{name: "both modified, local newer", a: base, l: []any{"a", fileAt(3, 3000)}, r: []any{"a", fileAt(2, 2000)},
			local: []string{"write a" + cr + "=f2"}, remote: []string{"aside a" + cr + "<-a", "write a=f3"}, conflicts: 1},
		{name: "both modified, same mtime: larger hash wins", a: base, l: []any{"a", fileAt(2, 5000)}, r: []any{"a", fileAt(3, 5000)},
			local: []string{"aside a" + cl + "<-a", "write a=f3"}, remote: []string{"write a" + cl + "=f2"}, conflicts: 1},
		{name: "conflict copy keeps the extension", a: []any{"c.txt", file(1)}, l: []any{"c.txt", file(2)}, r: []any{"c.txt", file(3)},
			local:  []string{"aside c.sync-conflict-20261205-102030-lap.txt<-c.txt", "write c.txt=f3"},
			remote: []string{"write c.sync-conflict-20261205-102030-lap.txt=f2"}, conflicts: 1},
		{name: "conflict in a subdirectory", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"d", dir(), "d/x", file(2)}, r: []any{"d", dir(), "d/x", file(3)},
			local: []string{"aside d/x" + cl + "<-d/x", "write d/x=f3"}, remote: []string{"write d/x" + cl + "=f2"}, conflicts: 1},
		{name: "both created different files", l: []any{"a", file(2)}, r: []any{"a", file(3)},
			local: []string{"aside a" + cl + "<-a", "write a=f3"}, remote: []string{"write a" + cl + "=f2"}, conflicts: 1},
		{name: "conflict name taken: numbered host", a: []any{"a", file(1), "a" + cl, file(9)},
			l: []any{"a", file(2), "a" + cl, file(9)}, r: []any{"a", file(3), "a" + cl, file(9)},
			local: []string{"aside a" + cl + "-2<-a", "write a=f3"}, remote: []string{"write a" + cl + "-2=f2"}, conflicts: 1},
		{name: "two conflicts in one directory", a: []any{"a", file(1), "b", file(1)}, l: []any{"a", file(2), "b", file(4)}, r: []any{"a", file(3), "b", file(2)},
			local:  []string{"aside a" + cl + "<-a", "write a=f3", "write b" + cr + "=f2"},
			remote: []string{"aside b" + cr + "<-b", "write a" + cl + "=f2", "write b=f4"}, conflicts: 2},
		{name: "both changed symlink target", a: []any{"s", link("t")}, l: []any{"s", link("u")}, r: []any{"s", link("v")},
			local: []string{"aside s" + cl + "<-s", "write s=l>v"}, remote: []string{"write s" + cl + "=l>u"}, conflicts: 1},
		{name: "file against symlink, the newer wins", l: []any{"a", file(1)}, r: []any{"a", link("t")},
			local: []string{"write a" + cr + "=l>t"}, remote: []string{"aside a" + cr + "<-a", "write a=f1"}, conflicts: 1},
		{name: "created dir against created file: the dir keeps the name", l: []any{"p", dir(), "p/x", file(1)}, r: []any{"p", file(2)},
			local: []string{"write p" + cr + "=f2"}, remote: []string{"aside p" + cr + "<-p", "mkdir p=d", "write p/x=f1"}, conflicts: 1},
		{name: "local modified file, remote made it a dir", a: []any{"p", file(1)}, l: []any{"p", file(2)}, r: []any{"p", dir(), "p/y", file(3)},
			local: []string{"aside p" + cl + "<-p", "mkdir p=d", "write p/y=f3"}, remote: []string{"write p" + cl + "=f2"}, conflicts: 1},
		{name: "local modified file, remote made it a symlink", a: base, l: []any{"a", file(2)}, r: []any{"a", link("t")},
			local: []string{"write a" + cr + "=l>t"}, remote: []string{"aside a" + cr + "<-a", "write a=f2"}, conflicts: 1},
		{name: "local dir to file, remote dir to symlink", a: []any{"d", dir()}, l: []any{"d", file(1)}, r: []any{"d", link("t")},
			local: []string{"write d" + cr + "=l>t"}, remote: []string{"aside d" + cr + "<-d", "write d=f1"}, conflicts: 1},
		{name: "local dir to file, remote chmod dir: the dir wins", a: []any{"d", dir()}, l: []any{"d", file(1)}, r: []any{"d", dirMode(0o700)},
			local: []string{"aside d" + cl + "<-d", "mkdir d=d:700"}, remote: []string{"write d" + cl + "=f1"}, conflicts: 1},
		{name: "conflict keeps the loser's mode", a: base, l: []any{"a", fileMode(2, 0o600)}, r: []any{"a", file(3)},
			local: []string{"aside a" + cl + "<-a", "write a=f3"}, remote: []string{"write a" + cl + "=f2:600"}, conflicts: 1},
		{name: "no ancestor, file against dir", l: []any{"a", file(1)}, r: []any{"a", dir()},
			local: []string{"aside a" + cl + "<-a", "mkdir a=d"}, remote: []string{"write a" + cl + "=f1"}, conflicts: 1},
		{name: "local replaced dir with file, remote added inside", a: []any{"d", dir(), "d/x", file(1)}, l: []any{"d", file(2)},
			r:      []any{"d", dir(), "d/x", file(1), "d/n", file(3)},
			local:  []string{"aside d" + cl + "<-d", "mkdir d=d", "write d/n=f3"},
			remote: []string{"remove d/x", "write d" + cl + "=f2"}, conflicts: 1},
	})
}

// TestReconcileModifyDelete covers a change on one side against a
// deletion on the other: the change survives.
func TestReconcileModifyDelete(t *testing.T) {
	base := []any{"a", file(1)}
	runReconcileCases(t, []reconcileCase{
		{name: "local modified, remote deleted", a: base, l: []any{"a", file(2)}, remote: []string{"write a=f2"}},
		{name: "local deleted, remote modified", a: base, r: []any{"a", file(2)}, local: []string{"write a=f2"}},
		{name: "local chmod, remote deleted", a: base, l: []any{"a", fileMode(1, 0o755)}, remote: []string{"write a=f1:755"}},
		{name: "local deleted, remote chmod", a: base, r: []any{"a", fileMode(1, 0o755)}, local: []string{"write a=f1:755"}},
		{name: "local deleted symlink, remote retargeted", a: []any{"s", link("t")}, r: []any{"s", link("u")}, local: []string{"write s=l>u"}},
		{name: "local mtime-only change, remote deleted: the delete wins", a: base, l: []any{"a", fileAt(1, 99)}, local: []string{"remove a"}},
		{name: "local deleted dir, remote added inside: only the new file comes back",
			a: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dir(), "d/x", file(1), "d/n", file(2)},
			local: []string{"mkdir d=d", "write d/n=f2"}, remote: []string{"remove d/x"}},
		{name: "local deleted dir, remote modified inside",
			a: []any{"d", dir(), "d/x", file(1), "d/y", file(2)}, r: []any{"d", dir(), "d/x", file(3), "d/y", file(2)},
			local: []string{"mkdir d=d", "write d/x=f3"}, remote: []string{"remove d/y"}},
		{name: "remote deleted dir, local added deep inside",
			a: []any{"d", dir(), "d/e", dir(), "d/e/x", file(1)}, l: []any{"d", dir(), "d/e", dir(), "d/e/x", file(1), "d/e/n", file(2)},
			local: []string{"remove d/e/x"}, remote: []string{"mkdir d=d", "mkdir d/e=d", "write d/e/n=f2"}},
		{name: "remote deleted dir, local modified inside",
			a: []any{"d", dir(), "d/x", file(1), "d/y", file(2)}, l: []any{"d", dir(), "d/x", file(3), "d/y", file(2)},
			local: []string{"remove d/y"}, remote: []string{"mkdir d=d", "write d/x=f3"}},
		{name: "local deleted dir, remote turned a file in it into a dir",
			a: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dir(), "d/x", dir(), "d/x/y", file(2)},
			local: []string{"mkdir d=d", "mkdir d/x=d", "write d/x/y=f2"}},
		{name: "local deleted dir, remote chmod it: the empty dir survives",
			a: []any{"d", dir(), "d/x", file(1)}, r: []any{"d", dirMode(0o700), "d/x", file(1)},
			local: []string{"mkdir d=d:700"}, remote: []string{"remove d/x"}},
		{name: "local made file a dir, remote deleted file", a: []any{"p", file(1)}, l: []any{"p", dir()}, remote: []string{"mkdir p=d"}},
		{name: "local deleted file, remote made it a dir", a: []any{"p", file(1)}, r: []any{"p", dir(), "p/x", file(2)},
			local: []string{"mkdir p=d", "write p/x=f2"}},
		{name: "local moved a file, remote modified it", a: base, l: []any{"b", file(1)}, r: []any{"a", file(2)},
			local: []string{"write a=f2"}, remote: []string{"write b=f1"}},
		{name: "local renamed dir, remote added a file in the old one",
			a: []any{"d", dir(), "d/x", file(1)}, l: []any{"e", dir(), "e/x", file(1)}, r: []any{"d", dir(), "d/x", file(1), "d/n", file(2)},
			local: []string{"mkdir d=d", "write d/n=f2"}, remote: []string{"mkdir e=d", "move e/x<-d/x"}},
	})
}

// TestReconcileMode covers permission bits and mtimes.
func TestReconcileMode(t *testing.T) {
	base := []any{"a", file(1)}
	runReconcileCases(t, []reconcileCase{
		{name: "local chmod, remote content change: merged", a: base, l: []any{"a", fileMode(1, 0o755)}, r: []any{"a", file(2)},
			local: []string{"write a=f2:755"}, remote: []string{"setmeta a=f2:755"}},
		{name: "local content change, remote chmod: merged", a: base, l: []any{"a", file(2)}, r: []any{"a", fileMode(1, 0o600)},
			local: []string{"setmeta a=f2:600"}, remote: []string{"write a=f2:600"}},
		{name: "both chmod differently: the bits both keep", a: base, l: []any{"a", fileMode(1, 0o755)}, r: []any{"a", fileMode(1, 0o600)},
			local: []string{"setmeta a=f1:600"}},
		{name: "both chmod dir differently", a: []any{"d", dir()}, l: []any{"d", dirMode(0o700)}, r: []any{"d", dirMode(0o750)},
			remote: []string{"setmeta d=d:700"}},
		{name: "both changed content the same, modes differently", a: base, l: []any{"a", fileMode(2, 0o755)}, r: []any{"a", fileMode(2, 0o640)},
			local: []string{"setmeta a=f2:640"}},
		{name: "local chmod and mtime", a: base, l: []any{"a", Entry{Kind: File, Mode: 0o700, Size: 100, MTime: 42, Hash: Digest{1}}}, r: base,
			remote: []string{"setmeta a=f1:700"}},
		{name: "no ancestor, same content, modes differ", l: []any{"a", fileMode(1, 0o755)}, r: []any{"a", fileMode(1, 0o600)},
			local: []string{"setmeta a=f1:600"}},
		{name: "no ancestor, same content, mtimes differ", l: []any{"a", fileAt(1, 1)}, r: []any{"a", fileAt(1, 2)}},
		{name: "symlink mode is ignored", a: []any{"s", link("t")}, l: []any{"s", Entry{Kind: Symlink, Target: "t", Mode: 0o777}}, r: []any{"s", link("t")}},
		{name: "setuid and setgid are never carried", l: []any{"a", fileMode(1, 0o6755)}, remote: []string{"write a=f1:755"}},
	})
}
