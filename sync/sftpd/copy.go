package sftpd

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// copyReq is a copy-data request: n bytes (0: to the end of the file) of
// handle from at fromOff to handle to at toOff.
type copyReq struct {
	from, to       string
	fromOff, toOff uint64
	n              uint64
}

// errCopyOverlap refuses a copy within one file whose ranges overlap, as
// OpenSSH does.
var errCopyOverlap = errors.New("copy-data: source and destination ranges overlap")

// copyData answers copy-data, OpenSSH's server-side copy: the read handle
// must be open for reading and the write handle for writing. It copies
// with copy_file_range (no data through user space, reflinks where the
// file system shares extents) and falls back to pread and pwrite where the
// kernel cannot (across file systems, onto an O_APPEND handle).
func (s *session) copyData(c copyReq) error {
	src, err := s.fileHandle(c.from)
	if err != nil {
		return err
	}
	dst, err := s.fileHandle(c.to)
	if err != nil {
		return err
	}
	if !src.readable() || !dst.writable() {
		return errBadHandle
	}
	if c.from == c.to && overlaps(c) {
		return errCopyOverlap
	}
	roff, woff := int64(c.fromOff), int64(c.toOff)
	left := c.n
	if c.n == 0 {
		left = 1<<63 - 1
	}
	useRange := dst.flags&unix.O_APPEND == 0
	var buf *[]byte
	defer func() {
		if buf != nil {
			putBuf(buf)
		}
	}()
	for left > 0 {
		chunk := int(min(left, 1<<30))
		var n int
		if useRange {
			n, err = unix.CopyFileRange(src.fd, &roff, dst.fd, &woff, chunk, 0)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EXDEV || err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EBADF {
				useRange = false
				continue
			}
		} else {
			if buf == nil {
				buf = getBuf(largeBuf)
			}
			n, err = copyChunk(src.fd, dst.fd, (*buf)[:min(chunk, cap(*buf))], &roff, &woff)
		}
		if err != nil {
			return &os.PathError{Op: "copy-data", Path: dst.path, Err: err}
		}
		if n == 0 {
			break // end of the source
		}
		left -= uint64(n)
	}
	return nil
}

// copyChunk copies one buffer's worth from rfd at *roff to wfd at *woff.
func copyChunk(rfd, wfd int, b []byte, roff, woff *int64) (int, error) {
	n, err := preadFull(rfd, b, *roff)
	if err != nil || n == 0 {
		return 0, err
	}
	for done := 0; done < n; {
		w, err := unix.Pwrite(wfd, b[done:n], *woff)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		done += w
		*woff += int64(w)
	}
	*roff += int64(n)
	return n, nil
}

// overlaps reports whether a copy within one file reads bytes it writes.
// A copy to the end of the file (n 0) reaches to the end of everything.
func overlaps(c copyReq) bool {
	end := func(off uint64) uint64 {
		if c.n == 0 || off+c.n < off {
			return 1<<64 - 1
		}
		return off + c.n
	}
	return c.fromOff < end(c.toOff) && c.toOff < end(c.fromOff)
}
