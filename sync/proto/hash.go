package proto

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
)

// Hash is a SHA-256 digest: a chunk id or a file's content hash. The zero
// Hash means "not known" (a snapshot taken without hashes); it is sent as an
// empty byte string.
type Hash [32]byte

// IsZero reports whether h is the zero Hash (unknown).
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns h in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ChunkRef names one stored chunk of a file: its id and its stored length.
// In a plain folder the id is the SHA-256 of the chunk's bytes; in an
// encrypted folder it is the keyed hash the client gave the sealed record,
// and Size is the record's length.
type ChunkRef struct {
	_    struct{} `cbor:",toarray"`
	ID   Hash
	Size uint32
}

// fileHashPrefix starts the input of every file hash, so a file hash can
// never equal a chunk id.
const fileHashPrefix = "simplecloud-sync file v1\x00"

// ChunkID returns the id of a plain chunk: the SHA-256 of its bytes.
func ChunkID(chunk []byte) Hash { return sha256.Sum256(chunk) }

// FileHasher computes a file's content hash from its chunk list, one chunk
// at a time:
//
//	SHA-256("simplecloud-sync file v1\x00" || id_1 || u64be(size_1) || ... )
//
// so a file is identified by its chunks alone, and an encrypted folder's
// files get hashes from keyed chunk ids that the server can compute
// without the key. An empty file has no chunks. The zero FileHasher is not
// ready: use NewFileHasher.
type FileHasher struct {
	h    hash.Hash
	size uint64
	n    int
}

// NewFileHasher returns a FileHasher with no chunks added.
func NewFileHasher() *FileHasher {
	h := sha256.New()
	io.WriteString(h, fileHashPrefix)
	return &FileHasher{h: h}
}

// Add appends one chunk to the file.
func (f *FileHasher) Add(c ChunkRef) {
	var b [40]byte
	copy(b[:32], c.ID[:])
	binary.BigEndian.PutUint64(b[32:], uint64(c.Size))
	f.h.Write(b[:])
	f.size += uint64(c.Size)
	f.n++
}

// Sum returns the file hash of the chunks added so far.
func (f *FileHasher) Sum() Hash {
	var h Hash
	f.h.Sum(h[:0])
	return h
}

// Size returns the total stored size of the chunks added so far.
func (f *FileHasher) Size() uint64 { return f.size }

// Count returns how many chunks were added.
func (f *FileHasher) Count() int { return f.n }

// FileHash returns the content hash of a file made of chunks.
func FileHash(chunks []ChunkRef) Hash {
	f := NewFileHasher()
	for _, c := range chunks {
		f.Add(c)
	}
	return f.Sum()
}

// HashReader chunks r with c to its end and returns the file hash and the
// chunk list: what both sides compute for a plain file.
func HashReader(c *Chunker, r io.Reader) (Hash, []ChunkRef, error) {
	var refs []ChunkRef
	s := summer{f: NewFileHasher(), refs: &refs}
	err := c.Split(r, func(chunk []byte) error {
		s.add(chunk)
		return nil
	})
	s.wait()
	if err != nil {
		return Hash{}, nil, err
	}
	return s.f.Sum(), refs, nil
}
