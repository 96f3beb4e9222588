package syncd

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
)

// openFile opens the regular file p for reading, never following a link
// and never blocking on a fifo, and returns its stat.
func (s *session) openFile(p string) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	f, err := s.root.OpenFile(p, unix.O_RDONLY|unix.O_NONBLOCK, 0, false)
	if err != nil {
		return nil, st, err
	}
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, st, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, st, fmt.Errorf("%s: not a regular file: %w", p, unix.EISDIR)
	}
	return f, st, nil
}

// changed reports whether a file's stat moved between two fstats: it was
// written while read.
func changed(a, b unix.Stat_t) bool {
	return a.Size != b.Size || a.Mtim != b.Mtim || a.Ctim != b.Ctim || a.Ino != b.Ino
}

// chunks sends the chunk list of file m.Path, refusing one whose hash is
// not m.Hash or that changes while it is read.
func (s *session) chunks(r *request, m *proto.Chunks) error {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	format, err := s.checkFileFormat(m.Path, m.Format)
	if err != nil {
		return err
	}
	f, before, err := s.openFile(m.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	var h proto.Hash
	var refs []proto.ChunkRef
	if format == proto.FormatSealed {
		h, refs, err = proto.SealedHash(&ctxReader{r.ctx, f})
	} else {
		h, refs, err = proto.HashReader(proto.DefaultChunker(), &ctxReader{r.ctx, f})
	}
	if err != nil {
		return err
	}
	var after unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &after); err != nil {
		return err
	}
	if changed(before, after) || (!m.Hash.IsZero() && h != m.Hash) {
		cur, _, _ := s.current(m.Path, false)
		return conflict(m.Path, cur)
	}
	for len(refs) > proto.MaxBatch {
		if err := s.conn.Send(r.id, false, &proto.ChunkList{Chunks: refs[:proto.MaxBatch]}); err != nil {
			return err
		}
		refs = refs[proto.MaxBatch:]
	}
	return s.conn.Send(r.id, true, &proto.ChunkList{Chunks: refs, Hash: h, Size: uint64(after.Size)})
}

// read sends bytes of file m.Path in Data frames. With a hash, the file
// must still have it (checked through the hash cache); a file that changes
// while it is read is a conflict, so torn bytes are never taken for good.
func (s *session) read(r *request, m *proto.Read) error {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	f, before, err := s.openFile(m.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if !m.Hash.IsZero() {
		cur, ino, err := s.current(m.Path, false)
		if err != nil {
			return err
		}
		if cur.Hash != m.Hash || ino != before.Ino {
			return conflict(m.Path, cur)
		}
		// The check may have stored the file's hash record, which sets
		// its ctime: the stat that brackets the read is the one after.
		if err := unix.Fstat(int(f.Fd()), &before); err != nil {
			return err
		}
	}
	end := uint64(before.Size)
	if m.Length > 0 && m.Offset+m.Length < end {
		end = m.Offset + m.Length
	}
	buf := make([]byte, proto.MaxData)
	for off := m.Offset; off < end; {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		n, err := f.ReadAt(buf[:min(uint64(len(buf)), end-off)], int64(off))
		if n == 0 && err != nil {
			if err == io.EOF {
				break // shrunk: caught by the fstat below
			}
			return err
		}
		if err := s.conn.Send(r.id, false, &proto.Data{Offset: off, Bytes: buf[:n]}); err != nil {
			return err
		}
		off += uint64(n)
	}
	var after unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &after); err != nil {
		return err
	}
	if changed(before, after) {
		cur, _, _ := s.current(m.Path, false)
		return conflict(m.Path, cur)
	}
	return s.conn.Send(r.id, true, &proto.Done{})
}

// ctxReader stops a long read when its request is cancelled.
type ctxReader struct {
	ctx interface{ Err() error }
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
