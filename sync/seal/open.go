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
	var h [RecordHeader]byte
	if _, err := io.ReadFull(src, h[:]); err != nil {
		if isEOF(err) {
			return false, &OpenError{Err: ErrTruncated}
		}
		return false, fmt.Errorf("open sealed file: read: %w", err)
	}
	var r Record
	copy(r.ID[:], h[:IDSize])
	r.Size = binary.BigEndian.Uint32(h[IDSize:])
	if r.Size != EndSize && (r.Size <= TagSize || r.Size > MaxChunk+TagSize) {
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
	if r.Size == EndSize {
		return true, o.end(r, p, src)
	}
	pt, err := openRecord(o.aead, o.idMAC, r.ID, p)
	if err != nil {
		return false, &OpenError{Err: err}
	}
	if _, err := dst.Write(pt); err != nil {
		return false, fmt.Errorf("open sealed file: write: %w", err)
	}
	o.list.add(r)
	o.plain += uint64(len(pt))
	o.off += RecordHeader + int64(r.Size)
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
		o.off += RecordHeader + EndSize
		return &OpenError{Err: ErrExtended}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("open sealed file: read: %w", err)
	}
	return nil
}

// openRecord decrypts a chunk record's payload in place and checks its id
// against the plaintext.
func openRecord(aead cipher.AEAD, idMAC hash.Hash, id [IDSize]byte, payload []byte) ([]byte, error) {
	pt, err := aead.Open(payload[:0], id[:chacha20poly1305.NonceSizeX], payload, chunkAD(id))
	if err != nil {
		return nil, ErrAuth
	}
	if got := chunkID(idMAC, pt); !hmac.Equal(got[:], id[:]) {
		return nil, fmt.Errorf("%w: chunk id does not match its content", ErrAuth)
	}
	return pt, nil
}

// OpenRecord decrypts one chunk record's payload, fetched on its own (a
// delta download's missing record, a replica's object), checks it against
// its id and returns the plaintext, appended to dst. Together with
// CheckList on the file's record list it authenticates a file assembled
// from local and fetched chunks. Errors wrap ErrAuth or ErrFormat.
func (k *Key) OpenRecord(dst []byte, id [IDSize]byte, payload []byte) ([]byte, error) {
	if len(payload) <= TagSize || len(payload) > MaxChunk+TagSize {
		return nil, fmt.Errorf("open record %x: %w: payload of %d bytes", id[:8], ErrFormat, len(payload))
	}
	aead, err := chacha20poly1305.NewX(k.content)
	if err != nil {
		return nil, fmt.Errorf("open record: %w", err)
	}
	pt, err := openRecord(aead, newMAC(k.chunkID), id, append([]byte(nil), payload...))
	if err != nil {
		return nil, fmt.Errorf("open record %x: %w", id[:8], err)
	}
	return append(dst, pt...), nil
}

// ChunkID returns the id a plaintext chunk seals under: a client indexes
// its local chunks by it, to take the chunks it holds from its own files
// in a delta download.
func (k *Key) ChunkID(chunk []byte) [IDSize]byte { return chunkID(newMAC(k.chunkID), chunk) }
