package proto

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Kind is what a path is: nothing, a regular file, a directory or a
// symbolic link.
type Kind uint8

// Kinds of entries.
const (
	KindAbsent  Kind = 0 // no such path (a delete in a change feed)
	KindFile    Kind = 1
	KindDir     Kind = 2
	KindSymlink Kind = 3
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindAbsent:
		return "absent"
	case KindFile:
		return "file"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ModeMask is the mode bits the protocol carries: permissions only. The
// setuid, setgid and sticky bits are never carried.
const ModeMask = 0o777

// Entry is one path's state, as in a snapshot, a change or a result. Path is
// relative to the user's root, slash-separated, without a leading or
// trailing slash; "" is the root itself. Size and Hash are a file's; Target
// is a symbolic link's (never followed). Mtime is in nanoseconds since the
// Unix epoch; Mode holds ModeMask bits.
type Entry struct {
	Path   string
	Kind   Kind
	Size   uint64
	Mtime  int64
	Mode   uint32
	Hash   Hash
	Target string
}

// wireEntry is an Entry on the wire: a CBOR array whose path is the
// number of leading bytes shared with the previous entry of the same list
// and the rest. A lone entry shares nothing.
type wireEntry struct {
	_      struct{} `cbor:",toarray"`
	Prefix uint32
	Suffix string
	Kind   Kind
	Size   uint64
	Mtime  int64
	Mode   uint32
	Hash   Hash
	Target string
}

func (e *Entry) wire(prev string) wireEntry {
	n := sharedPrefix(prev, e.Path)
	return wireEntry{Prefix: uint32(n), Suffix: e.Path[n:], Kind: e.Kind, Size: e.Size,
		Mtime: e.Mtime, Mode: e.Mode, Hash: e.Hash, Target: e.Target}
}

func (w *wireEntry) entry(prev string) (Entry, error) {
	p, err := unprefix(prev, w.Prefix, w.Suffix)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Kind: w.Kind, Size: w.Size, Mtime: w.Mtime,
		Mode: w.Mode, Hash: w.Hash, Target: w.Target}
	return e, e.validate()
}

// sharedPrefix returns how many leading bytes p shares with prev: what a
// prefix-compressed list sends of p is the rest.
func sharedPrefix(prev, p string) int {
	n := 0
	for n < len(prev) && n < len(p) && prev[n] == p[n] {
		n++
	}
	return n
}

// unprefix rebuilds a prefix-compressed path from the previous one.
func unprefix(prev string, shared uint32, suffix string) (string, error) {
	if int(shared) > len(prev) {
		return "", fmt.Errorf("%w: path shares %d bytes with a previous path of %d", ErrFrame, shared, len(prev))
	}
	return prev[:shared] + suffix, nil
}

// validate checks an entry's bounds.
func (e *Entry) validate() error {
	switch {
	case len(e.Path) > MaxPath || len(e.Target) > MaxPath:
		return fmt.Errorf("%w: path or target longer than %d bytes", ErrFrame, MaxPath)
	case e.Kind > KindSymlink:
		return fmt.Errorf("%w: entry %q: unknown kind %d", ErrFrame, e.Path, e.Kind)
	case e.Mode&^ModeMask != 0:
		return fmt.Errorf("%w: entry %q: mode %#o beyond %#o", ErrFrame, e.Path, e.Mode, ModeMask)
	}
	return nil
}

// MarshalCBOR encodes a lone entry (sharing no prefix).
func (e Entry) MarshalCBOR() ([]byte, error) { return encMode.Marshal(e.wire("")) }

// UnmarshalCBOR decodes a lone entry.
func (e *Entry) UnmarshalCBOR(b []byte) error {
	var w wireEntry
	if err := decMode.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := w.entry("")
	*e = v
	return err
}

// Entries is a list of entries in order; on the wire each path is
// compressed against the one before it.
type Entries []Entry

// MarshalCBOR encodes the list with prefix compression.
func (l Entries) MarshalCBOR() ([]byte, error) {
	w := make([]wireEntry, len(l))
	prev := ""
	for i := range l {
		w[i] = l[i].wire(prev)
		prev = l[i].Path
	}
	return encMode.Marshal(w)
}

// UnmarshalCBOR decodes a prefix-compressed list.
func (l *Entries) UnmarshalCBOR(b []byte) error {
	var w []wireEntry
	if err := decMode.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w) > MaxBatch {
		return fmt.Errorf("%w: %d entries in one message, max %d", ErrFrame, len(w), MaxBatch)
	}
	out := make(Entries, len(w))
	prev := ""
	for i := range w {
		e, err := w[i].entry(prev)
		if err != nil {
			return err
		}
		out[i] = e
		prev = e.Path
	}
	*l = out
	return nil
}

// MarshalCBOR encodes h as a byte string: empty when h is zero (unknown).
func (h Hash) MarshalCBOR() ([]byte, error) {
	if h.IsZero() {
		return []byte{0x40}, nil
	}
	return append([]byte{0x58, 32}, h[:]...), nil
}

// UnmarshalCBOR decodes a byte string of 0 or 32 bytes.
func (h *Hash) UnmarshalCBOR(b []byte) error {
	switch {
	case len(b) == 1 && b[0] == 0x40:
		*h = Hash{}
	case len(b) == 34 && b[0] == 0x58 && b[1] == 32:
		copy(h[:], b[2:])
	default:
		return fmt.Errorf("%w: a hash is a byte string of 0 or 32 bytes", ErrFrame)
	}
	return nil
}

var _ cbor.Marshaler = Hash{}
