package replica

import (
	"context"
	"fmt"

	"simplecloud/sync/seal"
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Tree, Path string // the file (empty for the snapshot itself)
	Object     string // the object at fault, if one
	Err        error
}

func (p Problem) String() string {
	s := p.Tree + ":" + p.Path
	if p.Object != "" {
		s += ": " + p.Object
	}
	return s + ": " + p.Err.Error()
}

// Verify re-reads every object snap references: each file's record list
// must check, every chunk object must be there, authenticate against its
// id and have the size the list says, and the chunks' plaintext must add
// up to the file's size. It returns the problems found; the error is for
// failures to ask the bucket at all.
func Verify(ctx context.Context, b Bucket, k *seal.Key, snap *Snapshot) ([]Problem, error) {
	var probs []Problem
	good := map[[seal.IDSize]byte]int64{} // verified chunks and their plaintext sizes
	var pt []byte
	for _, t := range snap.Trees {
		for _, e := range t.Entries {
			if e.Kind != KindFile {
				continue
			}
			recs, err := e.Records()
			if err == nil {
				err = k.CheckList(recs)
			}
			if err != nil {
				probs = append(probs, Problem{Tree: t.Name, Path: e.Path, Err: err})
				continue
			}
			var size int64
			bad := false
			for _, rec := range recs[:len(recs)-1] {
				if n, ok := good[rec.ID]; ok {
					size += n
					continue
				}
				pt, err = fetchRecord(ctx, b, k, rec, pt[:0])
				if err != nil {
					if ctx.Err() != nil {
						return probs, ctx.Err()
					}
					probs = append(probs, Problem{Tree: t.Name, Path: e.Path, Object: chunkKey(rec.ID), Err: err})
					bad = true
					continue
				}
				good[rec.ID] = int64(len(pt))
				size += int64(len(pt))
			}
			if !bad && size != e.Size {
				probs = append(probs, Problem{Tree: t.Name, Path: e.Path, Err: fmt.Errorf("chunks hold %d bytes, the snapshot says %d", size, e.Size)})
			}
		}
	}
	return probs, nil
}
