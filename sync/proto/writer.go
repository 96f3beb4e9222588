package proto

import (
	"io"
	"sync"
)

// writer coalesces the frames of many concurrent senders into few writes.
// A sender appends its frame to the pending buffer; if nobody is writing,
// it takes the whole buffer (its frame and any that came meanwhile) and
// writes it at once, else it waits for the writer in turn. Each sender
// returns once its own frame is written, as with one write a frame, so
// callers keep their error and ordering guarantees; but 128 uploads of
// small files no longer pay a write system call (and, over ssh, an SSH
// packet and its encryption on both sides) for each of their 3 frames,
// nor queue on a lock held across each write: an initial sync of 10,000
// small files waited in Send for half its time.
//
// The writer of a batch hands the writing over to the oldest waiting
// sender when its own frame is out, so no sender writes for others
// forever.
type writer struct {
	w io.Writer

	mu      sync.Mutex
	room    *sync.Cond // pending fell below maxPending
	pending []byte     // frames appended and not yet taken by a writer
	spare   []byte     // the buffer last written, for reuse
	writing bool       // a sender is writing (or about to)
	queued  uint64     // bytes appended in all
	written uint64     // bytes written (or failed) in all
	waiters []*waiter  // senders whose frames are pending, oldest first
	err     error      // the first write error: every later Send fails
}

// waiter is a sender waiting for its frame to be written.
type waiter struct {
	end uint64    // writer.queued just after its frame
	ch  chan bool // true: write now; false: written (or failed)
}

// maxPending is how many bytes of frames may wait for a writer before
// senders wait for room: with the buffer being written, at most about
// 2*maxPending+MaxFrame bytes are held.
const maxPending = 512 << 10

// maxSpare is the largest buffer kept for reuse.
const maxSpare = maxPending + MaxFrame + 4

func newWriter(w io.Writer) *writer {
	q := &writer{w: w}
	q.room = sync.NewCond(&q.mu)
	return q
}

// send appends a frame with build, which appends it to the buffer it is
// given and returns the result (or an error, and nothing is sent), and
// returns once the frame is written.
func (q *writer) send(build func([]byte) ([]byte, error)) error {
	q.mu.Lock()
	for q.err == nil && len(q.pending) >= maxPending {
		q.room.Wait()
	}
	if q.err != nil {
		err := q.err
		q.mu.Unlock()
		return err
	}
	start := len(q.pending)
	b, err := build(q.pending)
	if err != nil {
		q.pending = q.pending[:start]
		q.mu.Unlock()
		return err
	}
	q.pending = b
	q.queued += uint64(len(b) - start)
	if q.writing {
		w := &waiter{end: q.queued, ch: make(chan bool, 1)}
		q.waiters = append(q.waiters, w)
		q.mu.Unlock()
		if !<-w.ch {
			q.mu.Lock()
			err := q.err
			q.mu.Unlock()
			return err
		}
		q.mu.Lock()
	}
	q.writing = true
	// This sender's frame is in pending (nobody took it: every batch
	// taken was written, and each released its senders).
	buf := q.pending
	q.pending, q.spare = q.spare[:0], nil
	q.room.Broadcast()
	q.mu.Unlock()
	_, err = q.w.Write(buf)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.written += uint64(len(buf))
	if cap(buf) <= maxSpare {
		q.spare = buf[:0]
	}
	if err != nil && q.err == nil {
		q.err = err
	}
	if q.err != nil {
		// Nothing more can be written: every waiting sender fails.
		for _, w := range q.waiters {
			w.ch <- false
		}
		q.waiters, q.pending, q.writing = nil, nil, false
		q.room.Broadcast()
		return q.err
	}
	i := 0
	for i < len(q.waiters) && q.waiters[i].end <= q.written {
		q.waiters[i].ch <- false
		i++
	}
	q.waiters = append(q.waiters[:0], q.waiters[i:]...)
	if len(q.waiters) > 0 {
		next := q.waiters[0]
		q.waiters = q.waiters[1:]
		next.ch <- true
	} else {
		q.writing = false
	}
	return nil
}
