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
// Settle(ancestor, local', remote') is simply local'. Settle returns
// local itself (sharing its records) when the result is local, as after
// every run that converged: no second copy of a 200,000-entry tree.
func Settle(ancestor, local, remote Tree) Tree {
	if local.Equal(remote) {
		// Every path both sides hold, the Same: local, whatever the old
		// ancestor said. One comparison rather than the three-way walk.
		return local
	}
	a, l, r := ancestor.recs, local.recs, remote.recs
	// out stays nil while the result so far is l[:n]; a difference makes
	// it a copy of that prefix, with room for the longest input.
	var out []record
	n := 0
	keep := func(rec *record, fromLocal bool) {
		if out == nil && fromLocal && n < len(l) && rec == &l[n] {
			n++
			return
		}
		if out == nil {
			out = append(make([]record, 0, max(len(a), len(l), len(r))), l[:n]...)
		}
		out = append(out, *rec)
	}
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
			keep(le, true)
		case le == nil && re == nil:
		case le != nil && re != nil && le.kind == Dir && re.kind == Dir && (ae == nil || ae.kind != Dir):
			d := *le
			d.mode &= re.mode
			keep(&d, false)
		case ae != nil:
			keep(ae, false)
		}
		if out == nil && le != nil && n < len(l) && le == &l[n] {
			// l[n] was not kept: the result is no longer a prefix of l.
			out = append(make([]record, 0, max(len(a), len(l), len(r))), l[:n]...)
		}
	}
	if out == nil {
		return local // every record of local kept, nothing else
	}
	if len(out) == 0 {
		return Tree{}
	}
	return Tree{recs: out}
}
