package core

import "sort"

// FillHash gives the file at p, listed without its content hash (zero:
// not yet known), the hash h, in place, and reports whether it did; a
// path that is absent, not a file or already hashed is left as it is.
//
// It is the one exception to a Tree being immutable, and why it is safe:
// a client may plan a first sync before it has read its new files (only
// content compared between the sides needs hashes before the plan), and
// learn each one's hash from the upload, whose action's New is that very
// record. The record is written once, by the one action that sends the
// file, while nothing else reads it; the search here reads only the keys
// (and kinds) of the others, never a whole record, so that FillHash calls
// for several paths may run at once. The trees Apply and Settle make
// afterwards carry the hash.
func (t Tree) FillHash(p string, h Digest) bool {
	i := sort.Search(len(t.recs), func(i int) bool { return ComparePaths(t.recs[i].path(), p) >= 0 })
	if i == len(t.recs) || t.recs[i].path() != p || t.recs[i].kind != File || t.recs[i].hash != (Digest{}) || h == (Digest{}) {
		return false
	}
	t.recs[i].hash = h
	return true
}
