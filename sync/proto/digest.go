package proto

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/fxamacker/cbor/v2"
)

// CapDigests says the server answers a List with DirDigests (PROTOCOL.md,
// "Digest listing"): a directory whose entries the client already has is
// answered by its number instead of its entries.
const CapDigests = "digests"

// TypeDirDigests carries the client's directory digests after a List.
const TypeDirDigests Type = 29

// MaxDigests bounds the directories one List may carry digests of: what a
// client can make the server hold (about 100 bytes each).
const MaxDigests = 1 << 20

// DirDigest is the digest of a directory's direct entries: SHA-256 over
// their canonical encoding (see Digester).
type DirDigest [32]byte

// MarshalCBOR encodes d as a byte string of 32 bytes.
func (d DirDigest) MarshalCBOR() ([]byte, error) { return append([]byte{0x58, 32}, d[:]...), nil }

// UnmarshalCBOR decodes a byte string of 32 bytes.
func (d *DirDigest) UnmarshalCBOR(b []byte) error {
	if len(b) != 34 || b[0] != 0x58 || b[1] != 32 {
		return fmt.Errorf("%w: a directory digest is a byte string of 32 bytes", ErrFrame)
	}
	copy(d[:], b[2:])
	return nil
}

var _ cbor.Marshaler = DirDigest{}

// digestDomain opens every directory digest's input.
const digestDomain = "simplecloud-sync dir v1\x00"

// Digester computes a DirDigest. Add each direct entry of the directory
// in byte order of their names, then Sum. The encoding covers every field
// a client reconciles with: the name, kind and permission bits; a file's
// mtime, size, whether its hash is known, and the hash; a link's target.
// It leaves out what two copies of a tree never agree on and no client
// compares: the mtime of a directory (it moves whenever a name in it
// changes, on each side on its own) and of a link (not carried), and the
// size of either. Its zero value is ready to use; Reset starts the next
// directory.
type Digester struct {
	h       hash.Hash
	buf     []byte
	unknown bool
	n       int
}

// Reset starts a new directory.
func (d *Digester) Reset() {
	if d.h == nil {
		d.h = sha256.New()
	}
	d.h.Reset()
	d.buf = append(d.buf[:0], digestDomain...)
	d.unknown, d.n = false, 0
}

// Add adds the entry e, named name in the directory (e.Path is not used).
func (d *Digester) Add(name string, e *Entry) {
	if d.h == nil {
		d.Reset()
	}
	b := d.buf
	b = binary.BigEndian.AppendUint32(b, uint32(len(name)))
	b = append(b, name...)
	b = append(b, byte(e.Kind))
	b = binary.BigEndian.AppendUint32(b, e.Mode)
	switch e.Kind {
	case KindFile:
		b = binary.BigEndian.AppendUint64(b, uint64(e.Mtime))
		b = binary.BigEndian.AppendUint64(b, e.Size)
		if e.Hash.IsZero() {
			d.unknown = true
			b = append(b, 0)
		} else {
			b = append(b, 1)
		}
		b = append(b, e.Hash[:]...)
	case KindSymlink:
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Target)))
		b = append(b, e.Target...)
	}
	d.n++
	if len(b) >= 8<<10 {
		d.h.Write(b)
		b = b[:0]
	}
	d.buf = b
}

// Len returns the number of entries added since Reset.
func (d *Digester) Len() int { return d.n }

// Sum returns the digest of the entries added since Reset. ok is false
// when a file among them had no hash (being written, unreadable): such a
// directory never matches, whatever its digest.
func (d *Digester) Sum() (sum DirDigest, ok bool) {
	if d.h == nil {
		d.Reset()
	}
	d.h.Write(d.buf)
	d.buf = d.buf[:0]
	d.h.Sum(sum[:0])
	return sum, !d.unknown
}

// DirSum is one directory's digest as the client sends it: the
// directory's path (relative to the user's root, as List's) and the
// digest of its direct entries.
type DirSum struct {
	Path   string
	Digest DirDigest
}

// wireDirSum is a DirSum on the wire: an array whose path is compressed
// against the previous one of the same message, as Entries'.
type wireDirSum struct {
	_      struct{} `cbor:",toarray"`
	Prefix uint32
	Suffix string
	Digest DirDigest
}

// DirSums is a list of directory digests; on the wire each path is
// compressed against the one before it.
type DirSums []DirSum

// MarshalCBOR encodes the list with prefix compression.
func (l DirSums) MarshalCBOR() ([]byte, error) {
	w := make([]wireDirSum, len(l))
	prev := ""
	for i := range l {
		p := l[i].Path
		n := sharedPrefix(prev, p)
		w[i] = wireDirSum{Prefix: uint32(n), Suffix: p[n:], Digest: l[i].Digest}
		prev = p
	}
	return encMode.Marshal(w)
}

// UnmarshalCBOR decodes a prefix-compressed list.
func (l *DirSums) UnmarshalCBOR(b []byte) error {
	var w []wireDirSum
	if err := decMode.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w) > MaxBatch {
		return fmt.Errorf("%w: %d digests in one message, max %d", ErrFrame, len(w), MaxBatch)
	}
	out := make(DirSums, len(w))
	prev := ""
	for i := range w {
		p, err := unprefix(prev, w[i].Prefix, w[i].Suffix)
		if err != nil {
			return err
		}
		if len(p) > MaxPath {
			return fmt.Errorf("%w: path longer than %d bytes", ErrFrame, MaxPath)
		}
		out[i] = DirSum{Path: p, Digest: w[i].Digest}
		prev = p
	}
	*l = out
	return nil
}

// DirDigests carries directory digests of the client's last agreed state
// after a List with Digests set, in frames of the List's request id, the
// last one FINAL. The server numbers them from 0 in the order they come,
// across frames; an EntryBatch's Same names them by these numbers.
type DirDigests struct {
	Dirs DirSums `cbor:"1,keyasint"`
}

// Type returns TypeDirDigests.
func (*DirDigests) Type() Type { return TypeDirDigests }

// DigestBatches splits dirs into runs that each fit one DirDigests frame:
// at most 1024 digests and 256 KiB of paths.
func DigestBatches(dirs []DirSum) [][]DirSum {
	return runs(dirs, func(d *DirSum) int { return len(d.Path) + 40 })
}
