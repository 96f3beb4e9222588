package core

// findMoves turns, on one side, the removal of a file and the writing of
// a new file with the same content hash into one OpMove, so the content
// is not sent. A write is paired only where the side holds nothing at its
// path before the plan (a move cannot replace), preferring a removed file
// with the same name (a directory renamed, a file moved to another
// directory) over any other with the same hash. Removals of files only
// happen where nothing survives, so a source's path is never needed for
// something else before the removals' phase.
func (s *Actions) findMoves() {
	side := s.l
	if s.side == Remote {
		side = s.r
	}
	byHash := map[Digest][]int{}
	for i := range s.list {
		if st := &s.list[i]; st.op == OpRemove && s.oldRec(st).kind == File {
			h := s.oldRec(st).hash
			byHash[h] = append(byHash[h], i)
		}
	}
	if len(byHash) == 0 {
		return
	}
	gone := map[int]bool{}
	for i := range s.list {
		w := &s.list[i]
		if w.op != OpWrite || w.old >= 0 {
			continue
		}
		nw := s.newRec(w)
		if nw.kind != File || side.Lookup(s.stepPath(w)).Present() {
			continue
		}
		cands := byHash[nw.hash]
		best := -1
		for n, ri := range cands {
			if s.oldRec(&s.list[ri]).size != nw.size {
				continue
			}
			if best < 0 || Base(s.stepPath(&s.list[ri])) == Base(s.stepPath(w)) && Base(s.stepPath(&s.list[cands[best]])) != Base(s.stepPath(w)) {
				best = n
			}
		}
		if best < 0 {
			continue
		}
		ri := cands[best]
		byHash[nw.hash] = append(cands[:best:best], cands[best+1:]...)
		gone[ri] = true
		// Path and New stay the write's (its copy too, if a conflict
		// copy's content was found removed), Old and From become the
		// removal's.
		w.op, w.old = OpMove, s.list[ri].old
	}
	if len(gone) == 0 {
		return
	}
	out := s.list[:0]
	for i, st := range s.list {
		if !gone[i] {
			out = append(out, st)
		}
	}
	s.list = out
}
