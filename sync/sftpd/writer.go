package sftpd

import (
	"bufio"
	"io"
	"sync"
)

// Buffer sizes of the pools. A large buffer holds the biggest packet a
// session accepts or sends (a WRITE request or a DATA reply of up to
// MaxPacket bytes, with its frame header); everything else fits a small one
// or grows from it.
const (
	smallBuf = 4 << 10
	largeBuf = MaxPacket + 64
)

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, 0, smallBuf); return &b }}
	largePool = sync.Pool{New: func() any { b := make([]byte, 0, largeBuf); return &b }}
)

// getBuf returns an empty buffer from the pools with room for at least n
// bytes (n above largeBuf gets a buffer of its own).
func getBuf(n int) *[]byte {
	switch {
	case n <= smallBuf:
		return smallPool.Get().(*[]byte)
	case n <= largeBuf:
		return largePool.Get().(*[]byte)
	}
	b := make([]byte, 0, n)
	return &b
}

// putBuf gives b back to the pool its size belongs to. A small buffer that
// grew (a long NAME reply) goes back as small if not much larger, else is
// dropped, so that the pools hold no giants.
func putBuf(b *[]byte) {
	switch c := cap(*b); {
	case c == largeBuf:
		*b = (*b)[:0]
		largePool.Put(b)
	case c >= smallBuf && c <= 4*smallBuf:
		*b = (*b)[:0]
		smallPool.Put(b)
	}
}

// writer is the one goroutine that writes a session's replies. Replies
// reach it encoded, in pooled buffers, over a channel; it writes them into
// a buffered writer and flushes only when no further reply is waiting, so
// that a burst of replies (the DATA of a pipelined download, the STATUS
// replies of pipelined WRITEs) leaves in few writes to the channel below
// rather than one each. After a failed write it drops what comes: the
// session's reader sees the broken stream too and ends the session.
type writer struct {
	bw   *bufio.Writer
	ch   chan *[]byte
	done chan struct{}
	err  error // first write error; read only after done is closed
}

// newWriter starts the writer of w; queue bounds the replies waiting.
func newWriter(w io.Writer, queue int) *writer {
	wr := &writer{bw: bufio.NewWriterSize(w, 64<<10), ch: make(chan *[]byte, queue), done: make(chan struct{})}
	go wr.run()
	return wr
}

func (w *writer) run() {
	defer close(w.done)
	for b := range w.ch {
		if w.err == nil {
			_, w.err = w.bw.Write(*b)
		}
		putBuf(b)
		if len(w.ch) == 0 && w.err == nil {
			w.err = w.bw.Flush()
		}
	}
}

// send queues the encoded reply b; the writer owns b from here on.
func (w *writer) send(b *[]byte) { w.ch <- b }

// close writes what is queued, stops the writer and returns its first
// error. No send may follow.
func (w *writer) close() error {
	close(w.ch)
	<-w.done
	return w.err
}
