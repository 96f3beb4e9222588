package core

// Settle returns the new ancestor after local and remote were brought
// (perhaps only partly) into step: every path both sides hold the Same
// is agreed and recorded as the local side has it (so that a client's
// scanner can trust its own sizes and mtimes in it), every path neither
// side holds is gone, and every other path keeps what the old ancestor
// said, so the next Reconcile still sees which side changed it. The one
// exception keeps the tree's shape: a directory both sides hold with
// different permission bits, where the old ancestor had none, is recorded
// with the bits both sides have. After a fully applied plan (see Apply),
// Settle(ancestor, local', remote') is simply local'.
func Settle(ancestor, local, remote Tree) Tree {
	var out []record
	a, l, r := ancestor.recs, local.recs, remote.recs
	i, j, k := 0, 0, 0
	for i < len(a) || j < len(l) || k < len(r) {
		p := ""
		if i < len(a) {
			p = a[i].path()
		}
		if j < len(l) && (p == "" || ComparePaths(l[j].path(), p) < 0) {
			p = l[j].path()
		}
		if k < len(r) && (p == "" || ComparePaths(r[k].path(), p) < 0) {
			p = r[k].path()
		}
		var ae, le, re *record
		if i < len(a) && a[i].path() == p {
			ae = &a[i]
			i++
		}
		if j < len(l) && l[j].path() == p {
			le = &l[j]
			j++
		}
		if k < len(r) && r[k].path() == p {
			re = &r[k]
			k++
		}
		switch {
		case le != nil && re != nil && Same(le.entry(), re.entry()):
			out = append(out, *le)
		case le == nil && re == nil:
		case le != nil && re != nil && le.kind == Dir && re.kind == Dir && (ae == nil || ae.kind != Dir):
			d := *le
			d.mode &= re.mode
			out = append(out, d)
		case ae != nil:
			out = append(out, *ae)
		}
	}
	return Tree{recs: out}
}
