package client

import "simplecloud/sync/core"

// A path whose state a snapshot does not know (a file that changed while
// it was hashed or could not be read, a file the server listed without a
// hash, a directory that could not be listed) must neither look deleted
// nor changed. held is the set of such paths of a run: they, and
// everything below them, are left out of all three trees, so nothing is
// done to them or because of them on either side.
//
// Two things keep a held path from costing more than one run:
//   - borrow: a file whose size and mtime are what the ancestor recorded
//     takes the ancestor's hash instead of being held (rsync's and
//     Unison's quick check), so a file that cannot be read but did not
//     change (a mode 000 file of the user's) does not keep every run from
//     converging; its next readable scan checks it again;
//   - restore: the new ancestor keeps the old one's entries of held
//     paths, so the next run still knows which side changed them; without
//     them a file that was merely busy during one run would later look
//     new on both sides and become a conflict copy instead of an update.
type held map[string]bool

// covers reports whether p or a directory above it is held. A held root
// ("": the folder itself could not be listed) covers everything: a run
// that cannot see one side does nothing at all.
func (h held) covers(p string) bool {
	if h[""] {
		return true
	}
	for ; p != ""; p = core.Parent(p) {
		if h[p] {
			return true
		}
	}
	return false
}

// borrow returns t with the ancestor's hash given to every held file whose
// kind, size and mtime match the ancestor's entry, those paths taken out
// of h.
func (h held) borrow(anc, t core.Tree) (core.Tree, error) {
	var lent map[string]core.Digest
	for p := range h {
		e, a := t.Lookup(p), anc.Lookup(p)
		if e.Kind == core.File && a.Kind == core.File && e.Size == a.Size && e.MTime == a.MTime {
			if lent == nil {
				lent = map[string]core.Digest{}
			}
			lent[p] = a.Hash
			delete(h, p)
		}
	}
	if lent == nil {
		return t, nil
	}
	var b core.Builder
	b.Grow(t.Len())
	for p, e := range t.All() {
		if d, ok := lent[p]; ok {
			e.Hash = d
		}
		if err := b.Add(p, e); err != nil {
			return core.Tree{}, err
		}
	}
	return b.Build()
}

// filter returns t without the held paths and what lies below them.
func (h held) filter(t core.Tree) core.Tree {
	if len(h) == 0 {
		return t
	}
	return t.Filter(func(p string, _ core.Entry) bool { return h.covers(p) })
}

// restore returns the settled ancestor with the old ancestor's entries of
// held paths put back (those whose parent is still a directory in it).
func (h held) restore(settled, anc core.Tree) (core.Tree, error) {
	if len(h) == 0 {
		return settled, nil
	}
	var b core.Builder
	b.Grow(settled.Len())
	dirs := map[string]bool{"": true}
	for p, e := range settled.All() {
		if e.Kind == core.Dir {
			dirs[p] = true
		}
		if err := b.Add(p, e); err != nil {
			return core.Tree{}, err
		}
	}
	for p, e := range anc.All() { // in path order: a directory before its children
		if !h.covers(p) || settled.Lookup(p).Present() || !dirs[core.Parent(p)] {
			continue
		}
		if e.Kind == core.Dir {
			dirs[p] = true
		}
		if err := b.Add(p, e); err != nil {
			return core.Tree{}, err
		}
	}
	return b.Build()
}
