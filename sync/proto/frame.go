package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Limits of protocol version 1. Every length and count read from the wire
// is checked against one of them before anything is allocated for it.
const (
	// MaxFrame bounds a frame (header and body): the most a peer can make
	// the receiver allocate at once, and the longest a change event waits
	// behind another stream's frame.
	MaxFrame = 1 << 20
	// MaxData bounds the bytes of one Data message.
	MaxData = 256 << 10
	// MaxChunk bounds a chunk (and a sealed record's payload).
	MaxChunk = 4 << 20
	// MaxPath bounds a path or a symlink target, in bytes (Linux PATH_MAX).
	MaxPath = 4096
	// MaxBatch bounds the entries, chunk refs or versions in one message.
	MaxBatch = 4096
	// MaxInflight bounds the requests a client may have open at once.
	MaxInflight = 256
)

// headerLen is the frame header after the length: type, flags, request id.
const headerLen = 1 + 1 + 4

// Magic opens the stream in both directions, before the first frame. A peer
// that is not simplecloud-sync (a shell's greeting, a wrong command) is
// caught here with its first bytes shown.
const Magic = "SCSYNC\x00\n"

// Frame flags.
const (
	// FlagFinal marks the last frame of a request id in its direction.
	FlagFinal uint8 = 1 << 0
)

// ErrFrame is wrapped by every framing or decoding error: a length out of
// bounds, a truncated frame, an unknown type, a body that does not decode
// or breaks a limit. The connection cannot be trusted after it.
var ErrFrame = errors.New("bad sync frame")

// frameHeader is one frame's fixed part.
type frameHeader struct {
	typ   Type
	flags uint8
	id    uint32
}

// readFrame reads one frame: its header and a body of exactly its length,
// in a new slice or, for a large Data frame, in one from dataBufs (pooled
// is then the pool's handle of it). io.EOF before the first byte is a
// clean end.
func readFrame(r io.Reader) (h frameHeader, body []byte, pooled *[]byte, err error) {
	var lb [4 + headerLen]byte
	if _, err := io.ReadFull(r, lb[:4]); err != nil {
		return frameHeader{}, nil, nil, err
	}
	n := binary.BigEndian.Uint32(lb[:4])
	if n < headerLen || n > MaxFrame {
		return frameHeader{}, nil, nil, fmt.Errorf("%w: length %d not in [%d, %d]", ErrFrame, n, headerLen, MaxFrame)
	}
	if _, err := io.ReadFull(r, lb[4:]); err != nil {
		return frameHeader{}, nil, nil, fmt.Errorf("%w: header: %w", ErrFrame, unexpected(err))
	}
	h = frameHeader{typ: Type(lb[4]), flags: lb[5], id: binary.BigEndian.Uint32(lb[6:])}
	size := int(n - headerLen)
	if h.typ == TypeData && size >= pooledFrom && size <= dataBufCap {
		if pooled, _ = dataBufs.Get().(*[]byte); pooled == nil {
			b := make([]byte, dataBufCap)
			pooled = &b
		}
		body = (*pooled)[:size]
	} else {
		body = make([]byte, size)
	}
	if _, err := io.ReadFull(r, body); err != nil {
		if pooled != nil {
			dataBufs.Put(pooled)
		}
		return frameHeader{}, nil, nil, fmt.Errorf("%w: body of %d bytes: %w", ErrFrame, len(body), unexpected(err))
	}
	return h, body, pooled, nil
}

// dataBufs holds the bodies of received Data frames given back by
// Data.Release, each of dataBufCap bytes. An upload of 1 GiB arrives in
// 4,096 frames of 256 KiB: each a new allocation was zeroed, collected,
// its pages given back to the kernel by the scavenger and faulted in
// again by the next (about 1 of the sync child's 13 CPU-s in a first
// sync).
var dataBufs sync.Pool

const (
	// dataBufCap fits the largest Data body: offset and MaxData bytes.
	dataBufCap = 8 + MaxData
	// pooledFrom: smaller Data bodies are allocated each time, as other
	// frames are; the pool is for the stream of a large file.
	pooledFrom = 32 << 10
)

// appendFrameHeader appends a frame's length and header for a body of n
// bytes.
func appendFrameHeader(b []byte, h frameHeader, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(headerLen+n))
	b = append(b, byte(h.typ), h.flags)
	return binary.BigEndian.AppendUint32(b, h.id)
}

// unexpected turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
