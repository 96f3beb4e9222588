package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// SealedMagic opens every file of a FormatSealed folder on the server.
const SealedMagic = "SCSEALv1"

// sealedOverhead bounds what sealing adds to a chunk (nonce, tag, framing
// of the payload), so a sealed record is at most MaxChunk+sealedOverhead.
const sealedOverhead = 256

// sealedHeader is a record's header: its chunk id and payload length.
const sealedHeader = 32 + 4

// SealedRecords reads a sealed file's records and calls fn with each one's
// ref (the client-given id and the payload length) and its offset in the
// file. The server uses it to list chunks and hash a file it cannot
// decrypt. A bad magic, an oversized or truncated record is an error
// wrapping ErrFrame.
func SealedRecords(r io.Reader, fn func(ref ChunkRef, offset int64) error) error {
	var m [len(SealedMagic)]byte
	if _, err := io.ReadFull(r, m[:]); err != nil || string(m[:]) != SealedMagic {
		return fmt.Errorf("%w: not a sealed file (magic %q)", ErrFrame, m[:])
	}
	off := int64(len(SealedMagic))
	var h [sealedHeader]byte
	for {
		_, err := io.ReadFull(r, h[:])
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: sealed record header at %d: %w", ErrFrame, off, unexpected(err))
		}
		var ref ChunkRef
		copy(ref.ID[:], h[:32])
		ref.Size = binary.BigEndian.Uint32(h[32:])
		if ref.Size == 0 || ref.Size > MaxChunk+sealedOverhead {
			return fmt.Errorf("%w: sealed record at %d of %d bytes", ErrFrame, off, ref.Size)
		}
		if err := fn(ref, off); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, r, int64(ref.Size)); err != nil {
			return fmt.Errorf("%w: sealed record at %d: %w", ErrFrame, off, unexpected(err))
		}
		off += sealedHeader + int64(ref.Size)
	}
}

// AppendSealedRecord appends a record (header and payload) to b: what a
// client writes for each sealed chunk.
func AppendSealedRecord(b []byte, id Hash, payload []byte) []byte {
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// KeyMarker is the file at the root of a sealed folder that names its key
// (sync/seal's MarkerName, which holds its content's format). The server
// takes a folder with this file for a sealed one (PROTOCOL.md, "Encrypted
// folders"); the marker itself is a plain file.
const KeyMarker = "SIMPLECLOUD-KEY"
