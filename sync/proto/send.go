package proto

import (
	"fmt"
	"io"
	"sync"
)

// sendQueue writes the frames of many concurrent senders to one stream,
// several frames to a write when they come together (a group write): the
// sender that finds no write in progress writes every frame queued so
// far, those that come meanwhile queue theirs for the next write and
// wait. Every Send returns once its frame is written, as with one write
// per frame, so the stream's back-pressure still reaches each sender and
// a lone frame (a change event) goes out at once, never held back for
// company.
//
// A first sync of 10,000 small files sends three frames a file (Put,
// Data, Commit) from up to 128 uploads at once, and the server a Done for
// each: written one by one, each frame was a write to the ssh pipe, a
// wakeup of ssh and an SSH packet of its own, most of them under 100
// bytes, each with its own MAC and, on the server, its own decryption
// and copies in golang.org/x/crypto/ssh.
type sendQueue struct {
	w    io.Writer
	mu   sync.Mutex
	cond sync.Cond
	// pend holds the frames queued for the next write, which will be
	// write number next; written counts the writes done, so one is in
	// progress while written < next-1 (see writing).
	pend          []byte
	next, written uint64
	spare         []byte // the buffer of the last write, reused
	err           error  // the first failed write's: the stream is broken after it
}

// maxQueued bounds the bytes queued behind a write in progress: a sender
// past it waits for that write before queuing its frame, so a slow stream
// holds at most this much (and one frame) in memory, not every sender's.
const maxQueued = 1 << 20

// keptBuffer is the largest write buffer kept for the next write.
const keptBuffer = maxQueued + MaxFrame + 4

// writing reports whether a write is in progress.
func (q *sendQueue) writing() bool { return q.written < q.next-1 }

func newSendQueue(w io.Writer) *sendQueue {
	q := &sendQueue{w: w, next: 1}
	q.cond.L = &q.mu
	return q
}

// send queues the frame of m (header h) and returns once it is written. A
// message that encodes beyond MaxFrame is an error and queues nothing.
func (q *sendQueue) send(h frameHeader, m Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.writing() && len(q.pend) >= maxQueued && q.err == nil {
		q.cond.Wait()
	}
	if q.err != nil {
		return fmt.Errorf("send %T: %w", m, q.err)
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
	mine := q.next
	for q.written < mine {
		if q.writing() {
			q.cond.Wait()
			continue
		}
		q.write()
	}
	if q.err != nil {
		return fmt.Errorf("send %T: %w", m, q.err)
	}
	return nil
}

// write writes every queued frame, as write number q.next, with q.mu held
// on entry and exit but not during the write.
func (q *sendQueue) write() {
	buf := q.pend
	q.pend, q.spare = q.spare[:0], nil
	n := q.next
	q.next++
	q.mu.Unlock()
	_, err := q.w.Write(buf)
	q.mu.Lock()
	q.written = n
	if err != nil && q.err == nil {
		q.err = err
	}
	if cap(buf) <= keptBuffer {
		q.spare = buf[:0]
	}
	q.cond.Broadcast()
}
