package proto

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// SealedHasher computes the content hash of a sealed folder's file from its
// records (SealedRecords): the same FileHash, over the client-given ids and
// payload lengths, so the server hashes a file it cannot decrypt and the
// client, which computes the same hash of its plaintext with the key,
// compares the two. It has the method set of sync/scan's Hasher. A file
// that is not a sealed file has no hash (an error).
type SealedHasher struct{}

// Name identifies the hash in sync/scan's cache; it differs from
// PlainHasher's, so a cached plain hash is never taken for a sealed one.
func (SealedHasher) Name() string { return "scseal1-records" }

// Hash reads f from its current offset to its end and returns the hash of
// its records. A file that is not a whole sealed file (changed or cut
// short on the server's disk) gets a hash of its own, which no sealed file
// has: listed with it, the file is one the client sees changed, and its
// download is refused (Chunks fails), instead of a file listed without a
// hash, which a client leaves alone as one being written.
func (SealedHasher) Hash(f *os.File) ([32]byte, error) {
	h, _, err := SealedHash(f)
	if errors.Is(err, ErrFrame) {
		st, serr := f.Stat()
		if serr != nil {
			return Hash{}, serr
		}
		d := sha256.New()
		io.WriteString(d, "simplecloud-sync damaged sealed file v1\x00")
		binary.Write(d, binary.BigEndian, st.Size())
		binary.Write(d, binary.BigEndian, st.ModTime().UnixNano())
		var out Hash
		d.Sum(out[:0])
		return out, nil
	}
	return h, err
}

// SealedHash reads a sealed file's records from r and returns its file hash
// and record list: what Chunks answers for a sealed folder.
func SealedHash(r io.Reader) (Hash, []ChunkRef, error) {
	f := NewFileHasher()
	var refs []ChunkRef
	err := SealedRecords(r, func(ref ChunkRef, _ int64) error {
		f.Add(ref)
		refs = append(refs, ref)
		return nil
	})
	if err != nil {
		return Hash{}, nil, err
	}
	return f.Sum(), refs, nil
}

// Hasher returns the scan hasher of a folder format.
func (f Format) Hasher() interface {
	Name() string
	Hash(*os.File) ([32]byte, error)
} {
	if f == FormatSealed {
		return SealedHasher{}
	}
	return PlainHasher{}
}

// ContentHasher hashes a file's bytes as they are written in order: a
// StreamHasher for plain folders, a SealedStreamHasher for sealed ones.
type ContentHasher interface {
	io.Writer
	Sum() (Hash, int64)
	Close()
}

// NewContentHasher returns the stream hasher of a folder format.
func (f Format) NewContentHasher() ContentHasher {
	if f == FormatSealed {
		return NewSealedStreamHasher()
	}
	return NewStreamHasher(DefaultChunker())
}

// SealedStreamHasher computes a sealed file's hash (as SealedHash does)
// from its bytes written in order, in pieces of any size. Bytes that are
// not a sealed file make Sum return the zero Hash, which no commit
// matches.
type SealedStreamHasher struct {
	f    *FileHasher
	head []byte // the magic, then each record's header, while incomplete
	skip int64  // payload bytes of the current record still to come
	bad  bool
	size int64
	pos  int64 // where the current header began
}

// NewSealedStreamHasher returns a SealedStreamHasher at the file's start.
func NewSealedStreamHasher() *SealedStreamHasher {
	return &SealedStreamHasher{f: NewFileHasher()}
}

// Write adds the next bytes of the file. It never fails.
func (s *SealedStreamHasher) Write(b []byte) (int, error) {
	n := len(b)
	s.size += int64(n)
	for len(b) > 0 && !s.bad {
		if s.skip > 0 {
			k := min(int64(len(b)), s.skip)
			s.skip -= k
			b = b[k:]
			continue
		}
		want := sealedHeader
		if s.pos == 0 {
			want = len(SealedMagic)
		}
		k := min(want-len(s.head), len(b))
		s.head = append(s.head, b[:k]...)
		b = b[k:]
		if len(s.head) < want {
			break
		}
		s.record()
	}
	return n, nil
}

// record takes a complete magic or record header from s.head.
func (s *SealedStreamHasher) record() {
	if s.pos == 0 {
		s.bad = string(s.head) != SealedMagic
		s.pos = int64(len(SealedMagic))
		s.head = s.head[:0]
		return
	}
	var ref ChunkRef
	copy(ref.ID[:], s.head[:32])
	ref.Size = binary.BigEndian.Uint32(s.head[32:])
	if ref.Size == 0 || ref.Size > MaxChunk+sealedOverhead {
		s.bad = true
		return
	}
	s.f.Add(ref)
	s.skip = int64(ref.Size)
	s.pos += sealedHeader + int64(ref.Size)
	s.head = s.head[:0]
}

// Sum returns the file's hash and size: the zero Hash when the bytes were
// not a whole sealed file (a bad magic or record, one cut short).
func (s *SealedStreamHasher) Sum() (Hash, int64) {
	if s.bad || s.skip > 0 || len(s.head) > 0 || s.pos == 0 {
		return Hash{}, s.size
	}
	return s.f.Sum(), s.size
}

// Close does nothing; it completes ContentHasher.
func (s *SealedStreamHasher) Close() {}

// SealedRecordOffsets returns each record's offset in a sealed file, given
// the record list in order: the magic, then each record's header and
// payload.
func SealedRecordOffsets(refs []ChunkRef) []int64 {
	out := make([]int64, len(refs))
	off := int64(len(SealedMagic))
	for i, r := range refs {
		out[i] = off
		off += sealedHeader + int64(r.Size)
	}
	return out
}

// SealedHeaderSize is the length of a sealed record's header (its id and
// payload length) before its payload.
const SealedHeaderSize = sealedHeader
