package proto

// StreamHasher computes a plain file's hash (as HashReader does) from its
// bytes written in order, in pieces of any size: what a receiver hashes as
// the bytes arrive, instead of reading the file back once it is written.
// It holds at most the chunker's Max bytes plus one write. The zero
// StreamHasher is not ready: use NewStreamHasher.
type StreamHasher struct {
	c    *Chunker
	s    summer
	buf  []byte
	size int64
}

// NewStreamHasher returns a StreamHasher that chunks with c.
func NewStreamHasher(c *Chunker) *StreamHasher {
	return &StreamHasher{c: c, s: summer{f: NewFileHasher()}}
}

// Write adds the next bytes of the file. It never fails.
func (s *StreamHasher) Write(b []byte) (int, error) {
	n := len(b)
	s.size += int64(n)
	max := s.c.p.Max
	if len(s.buf) == 0 && len(b) >= max {
		// Cut straight from b while it holds a whole chunk's worth.
		b = s.cut(b, max)
	}
	s.buf = append(s.buf, b...)
	if len(s.buf) >= max {
		rest := s.cut(s.buf, max)
		s.buf = append(s.buf[:0], rest...)
	}
	return n, nil
}

// cut hashes the chunks of data while at least keep bytes are left to
// decide the next boundary, and returns the rest.
func (s *StreamHasher) cut(data []byte, keep int) []byte {
	for len(data) >= keep && len(data) > 0 {
		n := s.c.Cut(data)
		s.s.add(data[:n])
		data = data[n:]
	}
	return data
}

// Sum ends the file and returns its hash and size. The StreamHasher is
// spent.
func (s *StreamHasher) Sum() (Hash, int64) {
	s.cut(s.buf, 1)
	s.buf = nil
	s.s.wait()
	return s.s.f.Sum(), s.size
}

// Close releases what a StreamHasher given up before Sum holds (the
// goroutine that hashes a large file's chunks). It may be called after
// Sum, and more than once.
func (s *StreamHasher) Close() { s.s.wait() }
