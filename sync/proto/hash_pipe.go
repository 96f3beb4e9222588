package proto

import "sync"

// pipelineFrom is the length after which a file's chunk ids are computed
// on another goroutine while the next boundaries are found: cutting and
// SHA-256 cost about the same per byte, so a large file hashes in about
// half the time on two cores. Small files, nearly all of a tree, stay on
// one goroutine.
const pipelineFrom = 4 << 20

// summer adds a file's chunks, in order, to its file hash (and chunk list,
// when refs is set), computing chunk ids on a second goroutine past
// pipelineFrom.
type summer struct {
	f    *FileHasher
	refs *[]ChunkRef
	n    int64
	ch   chan []byte
	done chan struct{}
}

// chunkBufs holds copies of chunks on their way to the id goroutine.
var chunkBufs sync.Pool

// add adds the next chunk; it may be reused once add returns.
func (s *summer) add(chunk []byte) {
	s.n += int64(len(chunk))
	if s.ch == nil && s.n < pipelineFrom {
		s.sum(chunk)
		return
	}
	if s.ch == nil {
		s.ch, s.done = make(chan []byte, 8), make(chan struct{})
		go func() {
			defer close(s.done)
			for b := range s.ch {
				s.sum(b)
				chunkBufs.Put(&b)
			}
		}()
	}
	var b []byte
	if bp, _ := chunkBufs.Get().(*[]byte); bp != nil && cap(*bp) >= len(chunk) {
		b = (*bp)[:len(chunk)]
	} else {
		b = make([]byte, len(chunk), max(len(chunk), DefaultParams.Max))
	}
	copy(b, chunk)
	s.ch <- b
}

func (s *summer) sum(chunk []byte) {
	ref := ChunkRef{ID: ChunkID(chunk), Size: uint32(len(chunk))}
	s.f.Add(ref)
	if s.refs != nil {
		*s.refs = append(*s.refs, ref)
	}
}

// wait returns once every chunk added is in the hash.
func (s *summer) wait() {
	if s.ch != nil {
		close(s.ch)
		<-s.done
		s.ch = nil
	}
}
