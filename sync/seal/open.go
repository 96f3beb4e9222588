package seal

import (
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// opener holds Open's state between records.
type opener struct {
	k     *Key
	aead  cipher.AEAD
	list  *list
	idMAC hash.Hash
	plain uint64
	off   int64
	buf   []byte
}

// record reads one record at o.off and handles it: a chunk is opened and
// written to dst, the end record is checked. done is true after a good end
// record with nothing after it.
func (o *opener) record(dst io.Writer, src io.Reader) (done bool, err error) {
	var h [recordHeader]byte
	if _, err := io.ReadFull(src, h[:]); err != nil {
		if isEOF(err) {
			return false, &OpenError{Err: ErrTruncated}
		}
		return false, fmt.Errorf("open sealed file: read: %w", err)
	}
	var r Record
	copy(r.ID[:], h[:IDSize])
	r.Size = binary.BigEndian.Uint32(h[IDSize:])
	if r.Size != endSize && (r.Size <= tagSize || r.Size > MaxChunk+tagSize) {
		return false, &OpenError{Err: fmt.Errorf("%w: record of %d bytes", ErrFormat, r.Size)}
	}
	if cap(o.buf) < int(r.Size) {
		o.buf = make([]byte, r.Size)
	}
	p := o.buf[:r.Size]
	if _, err := io.ReadFull(src, p); err != nil {
		if isEOF(err) {
			return false, &OpenError{Err: ErrTruncated}
		}
		return false, fmt.Errorf("open sealed file: read: %w", err)
	}
	if r.Size == endSize {
		return true, o.end(r, p, src)
	}
	pt, err := o.aead.Open(p[:0], r.ID[:chacha20poly1305.NonceSizeX], p, chunkAD(r.ID))
	if err != nil {
		return false, &OpenError{Err: ErrAuth}
	}
	if id := chunkID(o.idMAC, pt); !hmac.Equal(id[:], r.ID[:]) {
		return false, &OpenError{Err: fmt.Errorf("%w: chunk id does not match its content", ErrAuth)}
	}
	if _, err := dst.Write(pt); err != nil {
		return false, fmt.Errorf("open sealed file: write: %w", err)
	}
	o.list.add(r)
	o.plain += uint64(len(pt))
	o.off += recordHeader + int64(r.Size)
	return false, nil
}

// end checks the end record (its MAC over the chunk list and its plaintext
// length) and that nothing follows it.
func (o *opener) end(r Record, p []byte, src io.Reader) error {
	want := o.list.sum(o.plain)
	if !hmac.Equal(want[:], r.ID[:]) {
		return &OpenError{Err: fmt.Errorf("%w: chunk list (reordered, dropped or swapped chunks)", ErrAuth)}
	}
	if n := binary.BigEndian.Uint64(p); n != o.plain {
		return &OpenError{Err: fmt.Errorf("%w: end record says %d bytes, chunks hold %d", ErrAuth, n, o.plain)}
	}
	var b [1]byte
	n, err := io.ReadFull(src, b[:])
	if n > 0 {
		o.off += recordHeader + endSize
		return &OpenError{Err: ErrExtended}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("open sealed file: read: %w", err)
	}
	return nil
}
