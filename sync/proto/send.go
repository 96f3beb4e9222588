package proto

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
)

// sendQueue writes the frames of many concurrent senders to one stream,
// several frames to a write when they come together (a group write): the
// sender that finds no write in progress writes every frame queued so
// far, those that come meanwhile queue theirs for the next write and
// wait. Every Send returns once its frame is written, as with one write
// per frame, so the stream's back-pressure still reaches each sender and
// a lone frame (a change event) goes out at once, never held back for
// company. A Data frame from a file (SendFile) is queued as its header and
// a file range, which the writer splices or copies in its place (see
// splice.go).
//
// A first sync of 10,000 small files sends three frames a file (Put,
// Data, Commit) from up to 128 uploads at once, and the server a Done for
// each: written one by one, each frame was a write to the ssh pipe, a
// wakeup of ssh and an SSH packet of its own, most of them under 100
// bytes, each with its own MAC and, on the server, its own decryption
// and copies in golang.org/x/crypto/ssh.
type sendQueue struct {
	w  io.Writer
	fw FileWriter // w, if it writes files' bytes itself
	// noFileWriter: fw turned out unable (errors.ErrUnsupported); only
	// the goroutine writing touches it.
	noFileWriter bool
	mu           sync.Mutex
	cond         sync.Cond
	// pend holds the frames queued for the next write, which will be
	// write number next; written counts the writes done, so one is in
	// progress while written < next-1 (see writing).
	pend          []byte
	next, written uint64
	spare         []byte // the buffer of the last write, reused
	err           error  // the first failed write's: the stream is broken after it
	// segs are the file ranges of the frames in pend (SendFile), in
	// order, each written after pend's bytes up to its pos; segBytes is
	// their length in all, spareSegs the slice of the last write's.
	segs, spareSegs []fileSeg
	segBytes        int
}

// fileSeg is the bytes of a Data frame that come from a file.
type fileSeg struct {
	pos int // where in the write's bytes they go
	f   *os.File
	at  int64
	n   int
	err *error // set if the file gave fewer (see writeFileSeg)
}

// maxQueued bounds the bytes queued behind a write in progress: a sender
// past it waits for that write before queuing its frame, so a slow stream
// holds at most this much (and one frame) in memory, not every sender's.
const maxQueued = 1 << 20

// keptBuffer is the largest write buffer kept for the next write.
const keptBuffer = maxQueued + MaxFrame + 4

// writing reports whether a write is in progress.
func (q *sendQueue) writing() bool { return q.written < q.next-1 }

// queued is how many bytes wait for the next write.
func (q *sendQueue) queued() int { return len(q.pend) + q.segBytes }

func newSendQueue(w io.Writer) *sendQueue {
	q := &sendQueue{w: w, next: 1}
	q.fw, _ = w.(FileWriter)
	q.cond.L = &q.mu
	return q
}

// send queues the frame of m (header h) and returns once it is written. A
// message that encodes beyond MaxFrame is an error and queues nothing.
func (q *sendQueue) send(h frameHeader, m Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.room(); err != nil {
		return fmt.Errorf("send %T: %w", m, err)
	}
	start := len(q.pend)
	b := appendFrameHeader(q.pend, h, 0)
	b, err := appendBody(b, m)
	if err != nil {
		return err
	}
	if n := len(b) - start - 4; n > MaxFrame {
		return fmt.Errorf("send %T: frame of %d bytes, max %d: %w", m, n, MaxFrame, ErrTooLarge)
	}
	appendFrameHeader(b[start:start], h, len(b)-start-4-headerLen)
	q.pend = b
	if err := q.flush(); err != nil {
		return fmt.Errorf("send %T: %w", m, err)
	}
	return nil
}

// sendFile queues a Data frame (header h) of n bytes of f from at, for
// offset off, and returns once it is written, as send does. The bytes are
// read (or spliced) by whoever writes the frame, and f must stay open
// until sendFile returns; if f gives fewer, the frame is padded and the
// error wraps ErrShortFile.
func (q *sendQueue) sendFile(h frameHeader, off uint64, f *os.File, at int64, n int) error {
	if n < 0 || n > MaxData {
		return fmt.Errorf("send data from a file: %d bytes, max %d: %w", n, MaxData, ErrTooLarge)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.room(); err != nil {
		return fmt.Errorf("send data from a file: %w", err)
	}
	b := appendFrameHeader(q.pend, h, 8+n)
	q.pend = binary.BigEndian.AppendUint64(b, off)
	var ferr error
	q.segs = append(q.segs, fileSeg{pos: len(q.pend), f: f, at: at, n: n, err: &ferr})
	q.segBytes += n
	if err := q.flush(); err != nil {
		return fmt.Errorf("send data from a file: %w", err)
	}
	return ferr
}

// room waits, with q.mu held, while a write is in progress and enough is
// queued behind it, and returns the stream's error if it broke.
func (q *sendQueue) room() error {
	for q.writing() && q.queued() >= maxQueued && q.err == nil {
		q.cond.Wait()
	}
	return q.err
}

// flush returns, with q.mu held, once the frame just queued is written:
// by this goroutine, if no write is in progress.
func (q *sendQueue) flush() error {
	mine := q.next
	for q.written < mine {
		if q.writing() {
			q.cond.Wait()
			continue
		}
		q.write()
	}
	return q.err
}

// write writes every queued frame, as write number q.next, with q.mu held
// on entry and exit but not during the write.
func (q *sendQueue) write() {
	buf, segs := q.pend, q.segs
	q.pend, q.spare = q.spare[:0], nil
	q.segs, q.spareSegs, q.segBytes = q.spareSegs[:0], nil, 0
	n := q.next
	q.next++
	q.mu.Unlock()
	err := q.writeOut(buf, segs)
	q.mu.Lock()
	q.written = n
	if err != nil && q.err == nil {
		q.err = err
	}
	if cap(buf) <= keptBuffer {
		q.spare = buf[:0]
	}
	clear(segs) // the files
	q.spareSegs = segs[:0]
	q.cond.Broadcast()
}

// writeOut writes buf with the file ranges segs at their places.
func (q *sendQueue) writeOut(buf []byte, segs []fileSeg) error {
	pos := 0
	for _, s := range segs {
		if s.pos > pos {
			if _, err := q.w.Write(buf[pos:s.pos]); err != nil {
				return err
			}
		}
		pos = s.pos
		if err := q.writeFileSeg(s); err != nil {
			return err
		}
	}
	if pos < len(buf) {
		_, err := q.w.Write(buf[pos:])
		return err
	}
	return nil
}
