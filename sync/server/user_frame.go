package server

import (
	"bufio"
	"encoding/binary"
	"io"
	"sync"
)

// sessionConn is the child's end of the session socket with buffering
// suited to SFTP: reads are buffered, so that a packet's length and body do
// not cost a system call each, and writes are gathered into whole packets.
type sessionConn struct {
	r *bufio.Reader
	w *frameWriter
	c io.Closer
}

func newSessionConn(rw io.ReadWriteCloser) *sessionConn {
	return &sessionConn{r: bufio.NewReaderSize(rw, 256<<10), w: &frameWriter{w: rw}, c: rw}
}

func (s *sessionConn) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *sessionConn) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *sessionConn) Close() error                { return s.c.Close() }

// frameWriter passes on only whole SFTP packets (uint32 length, then that
// many bytes), each in one write. pkg/sftp writes a packet's header and
// payload separately; written through as they come, each would cross the
// parent and become an SSH packet of its own.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// Write buffers p and writes out every packet it completes.
func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) == 0 && frameEnd(p) == len(p) {
		_, err := f.w.Write(p) // exactly whole packets: no copy
		return len(p), err
	}
	f.buf = append(f.buf, p...)
	end := frameEnd(f.buf)
	if end == 0 {
		return len(p), nil
	}
	_, err := f.w.Write(f.buf[:end])
	n := copy(f.buf, f.buf[end:])
	f.buf = f.buf[:n]
	return len(p), err
}

// frameEnd returns the length of the longest prefix of b made of whole
// packets.
func frameEnd(b []byte) int {
	end := 0
	for len(b)-end >= 4 {
		n := 4 + int(binary.BigEndian.Uint32(b[end:]))
		if n < 4 || len(b)-end < n {
			break
		}
		end += n
	}
	return end
}
