package proto

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// Frame is one received frame: the request id it belongs to, whether it is
// the last of that id in its direction, and its message.
type Frame struct {
	ID    uint32
	Final bool
	Msg   Message
}

// Conn carries frames over a byte stream (the stdin and stdout of `ssh -s
// simplecloud-sync`, or a net.Pipe in tests). Get one from Dial or Accept,
// which do the handshake. Send is safe for concurrent use; Recv must be
// called from one goroutine at a time. Each side must keep receiving while
// it sends (a reader goroutine and writers), or two peers that both write
// can block each other forever once the transport's buffers fill.
type Conn struct {
	r *bufio.Reader
	q *sendQueue

	// Version is the protocol version agreed in the handshake.
	Version uint32
}

// newConn wraps rw without a handshake.
func newConn(rw io.ReadWriter) *Conn {
	return &Conn{r: bufio.NewReaderSize(rw, 64<<10), q: newSendQueue(rw)}
}

// Send writes one frame for request id. final marks the last frame of the
// id in this direction. A message that encodes beyond MaxFrame is an error
// and nothing is written. Frames sent at once from several goroutines may
// share a write (see sendQueue); each Send returns once its frame is
// written, and after one write fails every later Send fails too.
func (c *Conn) Send(id uint32, final bool, m Message) error {
	var flags uint8
	if final {
		flags |= FlagFinal
	}
	return c.q.send(frameHeader{typ: m.Type(), flags: flags, id: id}, m)
}

// SendFile sends, for request id, a Data frame for offset off whose bytes
// are n bytes of f from at (at most MaxData), as Send does, without the
// caller reading them: they are spliced into the stream when it is a
// FileWriter, else read by the goroutine that writes the frame. f must
// stay open until SendFile returns. If f gives fewer bytes (it ended, or a
// read failed) the frame is still sent whole, padded, and the error wraps
// ErrShortFile: the request must then be cancelled.
func (c *Conn) SendFile(id uint32, final bool, off uint64, f *os.File, at int64, n int) error {
	var flags uint8
	if final {
		flags |= FlagFinal
	}
	return c.q.sendFile(frameHeader{typ: TypeData, flags: flags, id: id}, off, f, at, n)
}

// Recv reads the next frame. It returns io.EOF when the peer closed the
// stream between frames, and an error wrapping ErrFrame for a frame that
// breaks the protocol, after which the connection is unusable. A Data
// message's Bytes belong to the caller, who may give them back for reuse
// with Data.Release.
func (c *Conn) Recv() (Frame, error) {
	h, body, pooled, err := readFrame(c.r)
	if err != nil {
		return Frame{}, err
	}
	m, err := decodeBody(h.typ, body)
	if err != nil {
		if pooled != nil {
			dataBufs.Put(pooled)
		}
		return Frame{}, err
	}
	if d, ok := m.(*Data); ok {
		d.pooled = pooled
	}
	if h.flags&^FlagFinal != 0 {
		return Frame{}, fmt.Errorf("%w: unknown flags %#x", ErrFrame, h.flags)
	}
	return Frame{ID: h.id, Final: h.flags&FlagFinal != 0, Msg: m}, nil
}

// Batches splits entries into runs that each fit one EntryBatch or
// Changes frame: at most 1024 entries and 256 KiB of paths and targets.
func Batches(entries []Entry) [][]Entry {
	return runs(entries, func(e *Entry) int { return len(e.Path) + len(e.Target) + 64 })
}

// runs splits xs into runs of at most 1024 items whose sizes add up to at
// most 256 KiB (a single bigger item is a run of its own): what one frame
// of a batch carries.
func runs[T any](xs []T, size func(*T) int) [][]T {
	const maxItems, maxBytes = 1024, 256 << 10
	var out [][]T
	start, bytes := 0, 0
	for i := range xs {
		n := size(&xs[i])
		if i > start && (i-start == maxItems || bytes+n > maxBytes) {
			out = append(out, xs[start:i])
			start, bytes = i, 0
		}
		bytes += n
	}
	if start < len(xs) {
		out = append(out, xs[start:])
	}
	return out
}
