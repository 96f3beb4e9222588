package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"unsafe"

	"simplecloud/sync/core"
)

// decoder reads an ancestor file's fields from a window onto the file,
// remembering the first error. The file is read through the window, 64
// KiB at a time, and hashed on the way, rather than read whole: at
// 100,000 entries a 4.7 MB buffer cost more (fresh pages faulted in,
// cleared and copied into, and a heap that reached the collector's
// target sooner) than decoding it did.
type decoder struct {
	b     []byte    // read and hashed, not decoded yet
	r     io.Reader // the rest of the body
	left  int64     // bytes of the body not decoded yet (b's included)
	buf   []byte    // b's storage
	h     hash.Hash // the body read so far
	err   error     // the first decoding error
	ioErr error     // the first read error
}

var errTruncated = errors.New("truncated")

// window is how much of the file a decoder reads at once.
const window = 64 << 10

// need makes the next n bytes of the body (or all that is left, if
// less) readable in d.b.
func (d *decoder) need(n int) {
	if len(d.b) >= n || int64(len(d.b)) == d.left || d.err != nil {
		return
	}
	if n > cap(d.buf) {
		d.buf = make([]byte, 0, n)
	}
	k := copy(d.buf[:cap(d.buf)], d.b)
	want := int(min(int64(n), d.left))          // at least
	room := int(min(int64(cap(d.buf)), d.left)) // at most
	m, err := io.ReadAtLeast(d.r, d.buf[k:room], want-k)
	d.h.Write(d.buf[k : k+m])
	d.b = d.buf[:k+m]
	if err != nil {
		d.ioErr = err
		d.err = fmt.Errorf("read: %w", err)
	}
}

// take consumes n bytes of d.b.
func (d *decoder) take(n int) {
	d.b = d.b[n:]
	d.left -= int64(n)
}

func (d *decoder) uvarint() uint64 {
	if d.need(binary.MaxVarintLen64); d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.take(n)
	return v
}

func (d *decoder) varint() int64 {
	if d.need(binary.MaxVarintLen64); d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.take(n)
	return v
}

// bytes returns the next n bytes, valid until the next call.
func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(d.left) {
		d.err = errTruncated
		return nil
	}
	if d.need(int(n)); d.err != nil {
		return nil
	}
	v := d.b[:n]
	d.take(int(n))
	return v
}

func (d *decoder) byte() byte {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

// newDecoder checks the magic and version of an ancestor file of size
// bytes read from r and returns a decoder of its body, which it reads
// through a window of the given size.
func newDecoder(r io.Reader, size int64, window int) (*decoder, error) {
	head := make([]byte, len(stateMagic)+1)
	if size < int64(len(head))+sha256.Size {
		return nil, errors.New("not a sync state file (or one of an older format)")
	}
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if string(head[:len(stateMagic)]) != stateMagic {
		return nil, errors.New("not a sync state file (or one of an older format)")
	}
	if v := head[len(stateMagic)]; v != stateVersion {
		return nil, fmt.Errorf("format version %d, this simplecloud reads %d", v, stateVersion)
	}
	d := &decoder{r: r, left: size - int64(len(head)) - sha256.Size, buf: make([]byte, 0, window), h: sha256.New()}
	d.h.Write(head)
	return d, nil
}

// header decodes the state and the count of the entries that follow.
func (d *decoder) header() (*state, uint64) {
	s := &state{Local: d.string(), Remote: d.string()}
	if fsb := d.bytes(16); fsb != nil {
		s.FS = FSID{Dev: binary.BigEndian.Uint64(fsb), FSID: binary.BigEndian.Uint64(fsb[8:])}
	}
	return s, d.uvarint()
}

// stateCount returns the count of entries the header of the ancestor
// file at path gives, 0 when there is none to read: how many entries
// the local scan is to expect, read before the file is read and checked
// (see RunOnce). Nothing but that sizing relies on it.
func stateCount(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	d, err := newDecoder(f, fi.Size(), 4<<10)
	if err != nil {
		return 0
	}
	_, n := d.header()
	if d.err != nil || n > uint64(d.left) {
		return 0
	}
	return int(n)
}

// decodeState checks and decodes an ancestor file of size bytes read from
// r (see state).
func decodeState(r io.Reader, size int64) (*state, core.Tree, error) {
	d, err := newDecoder(r, size, window)
	if err != nil {
		return nil, core.Tree{}, err
	}
	s, n := d.header()
	t, err := d.entries(n)
	if d.ioErr != nil {
		return nil, core.Tree{}, d.err
	}
	// The checksum comes first: a damaged file is reported as such,
	// whatever decoding made of it. The rest of the body is hashed (a
	// decoding error may have stopped short of it), then compared with
	// the sum that ends the file.
	if rest := d.left - int64(len(d.b)); rest > 0 {
		if _, cerr := io.CopyN(d.h, r, rest); cerr != nil {
			return nil, core.Tree{}, fmt.Errorf("read: %w", cerr)
		}
	}
	var sum [sha256.Size]byte
	if _, rerr := io.ReadFull(r, sum[:]); rerr != nil {
		return nil, core.Tree{}, fmt.Errorf("read: %w", rerr)
	}
	if !bytes.Equal(d.h.Sum(nil), sum[:]) {
		return nil, core.Tree{}, errors.New("checksum mismatch: the file is damaged")
	}
	if err != nil {
		return nil, core.Tree{}, err
	}
	return s, t, nil
}

// entries decodes the ancestor's n entries up to the checksum.
func (d *decoder) entries(n uint64) (core.Tree, error) {
	if d.err != nil {
		return core.Tree{}, d.err
	}
	if n > uint64(d.left) {
		return core.Tree{}, fmt.Errorf("entry count %d larger than the file", n)
	}
	var b core.Builder
	b.Grow(int(n))
	var names paths
	p, mtime := "", int64(0) // the entry before's
	for range n {
		shared := d.uvarint()
		if shared > uint64(len(p)) {
			return core.Tree{}, errors.New("bad path prefix")
		}
		p = names.join(p[:shared], d.bytes(d.uvarint()))
		e := core.Entry{Kind: core.Kind(d.byte())}
		e.Mode = fs.FileMode(d.uvarint()) & core.PermMask
		e.MTime = mtime + d.varint()
		switch e.Kind {
		case core.File:
			e.Size = int64(d.uvarint())
			copy(e.Hash[:], d.bytes(32))
		case core.Symlink:
			e.Target = d.string()
		case core.Dir:
		default:
			if d.err == nil {
				return core.Tree{}, fmt.Errorf("bad kind %d at %q", e.Kind, p)
			}
		}
		if d.err != nil {
			return core.Tree{}, d.err
		}
		if err := b.Add(p, e); err != nil { // checks the path too
			return core.Tree{}, err
		}
		mtime = e.MTime
	}
	if d.err != nil {
		return core.Tree{}, d.err
	}
	if d.left != 0 {
		return core.Tree{}, fmt.Errorf("%d bytes after the entries", d.left)
	}
	return b.Build()
}

// paths stores the decoded paths in blocks of pathBlock bytes, which
// nothing writes to again once a path is in them, rather than in a string
// of its own each: 100,000 allocations fewer at 100,000 entries, and as
// many fewer objects for the collector to mark while the ancestor is
// held.
type paths struct{ block []byte }

const pathBlock = 32 << 10

// join returns prefix+rest as a string in the current block.
func (s *paths) join(prefix string, rest []byte) string {
	n := len(prefix) + len(rest)
	if n == 0 {
		return ""
	}
	if cap(s.block)-len(s.block) < n {
		s.block = make([]byte, 0, max(pathBlock, n))
	}
	start := len(s.block)
	s.block = append(append(s.block, prefix...), rest...)
	return unsafe.String(&s.block[start], n)
}
