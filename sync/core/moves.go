package core

// findMoves turns, on one side, the removal of a file and the writing of
// a new file with the same content hash into one OpMove, so the content
// is not sent. A write is paired only where the side holds nothing at its
// path before the plan (a move cannot replace), preferring a removed file
// with the same name (a directory renamed, a file moved to another
// directory) over any other with the same hash. Removals of files only
// happen where nothing survives, so a source's path is never needed for
// something else before the removals' phase.
func findMoves(acts []Action, side Tree) []Action {
	byHash := map[Digest][]int{}
	for i, a := range acts {
		if a.Op == OpRemove && a.Old.Kind == File {
			byHash[a.Old.Hash] = append(byHash[a.Old.Hash], i)
		}
	}
	if len(byHash) == 0 {
		return acts
	}
	gone := map[int]bool{}
	for i := range acts {
		w := &acts[i]
		if w.Op != OpWrite || w.New.Kind != File || w.Old.Present() || side.Lookup(w.Path).Present() {
			continue
		}
		cands := byHash[w.New.Hash]
		best := -1
		for n, ri := range cands {
			if acts[ri].Old.Size != w.New.Size {
				continue
			}
			if best < 0 || Base(acts[ri].Path) == Base(w.Path) && Base(acts[cands[best]].Path) != Base(w.Path) {
				best = n
			}
		}
		if best < 0 {
			continue
		}
		ri := cands[best]
		byHash[w.New.Hash] = append(cands[:best:best], cands[best+1:]...)
		gone[ri] = true
		*w = Action{Op: OpMove, Path: w.Path, From: acts[ri].Path, Old: acts[ri].Old, New: w.New}
	}
	if len(gone) == 0 {
		return acts
	}
	out := acts[:0]
	for i, a := range acts {
		if !gone[i] {
			out = append(out, a)
		}
	}
	return out
}
