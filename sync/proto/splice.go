package proto

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Data frames from a file (Conn.SendFile): the client's uploads. Its
// stream is the stdin of ssh, a pipe, and splice(2) moves a file's pages
// into a pipe by reference, where read(2) and write(2) copied each byte
// twice (page cache to a buffer, the buffer to the pipe's pages) and the
// frame's encoding a third time (the buffer into the batch of frames
// being written). In a first sync of 1.3 GB that was about a sixth of the
// client's CPU time (pread, pipe write and memmove in its profile).
//
// What ssh reads from the pipe is the file's page as it is then, not as
// it was when spliced: a write to the file in between is sent. The caller
// checks, as it did after reading, that the file did not change (size,
// mtime, ctime); a write after that check but before ssh has read the
// pipe changes the file's mtime and ctime after the client has taken
// them, so the next scan reads the file again, and its server copy, hashed
// by the server from what it received, is replaced. Nothing torn is kept
// as agreed, as with a write inside one clock tick (the scanner's racy
// window).

// FileWriter is implemented by a stream that writes a file's bytes itself,
// as splice does; SendFile then hands the Data bytes to it instead of
// reading them.
type FileWriter interface {
	// WriteFile writes n bytes of f from offset at to the stream and
	// returns how many it wrote: fewer than n only with an error,
	// io.ErrUnexpectedEOF if f ended first. errors.ErrUnsupported with
	// none written: it cannot, and the caller copies them.
	WriteFile(f *os.File, at int64, n int) (int, error)
}

// ErrShortFile is returned by SendFile when its file could not give the
// bytes asked for (it ended first, or a read failed): the frame went out
// whole, the rest of its bytes zeros, so the stream is intact, but the
// upload it belongs to must be cancelled.
var ErrShortFile = errors.New("the file ended or failed while it was sent")

// SpliceFile writes n bytes of f from at into pipe, the write end of a
// pipe, with splice(2), waiting through the runtime's poller while the
// pipe is full. It implements FileWriter for a stream that is a pipe.
// Where splice cannot (f on a file system without splice_read, pipe not a
// pipe) it returns errors.ErrUnsupported, having written nothing.
func SpliceFile(pipe, f *os.File, at int64, n int) (int, error) {
	rc, err := pipe.SyscallConn()
	if err != nil {
		return 0, errors.ErrUnsupported
	}
	src := int(f.Fd())
	done := 0
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		for done < n {
			k, err := unix.Splice(src, &at, int(fd), nil, n-done, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				return false // the pipe is full: wait until it is writable
			case err != nil:
				serr = err
				return true
			case k == 0:
				serr = io.ErrUnexpectedEOF
				return true
			}
			done += int(k)
		}
		return true
	})
	switch {
	case werr != nil:
		return done, fmt.Errorf("splice into the stream: %w", werr)
	case done == 0 && (errors.Is(serr, unix.EINVAL) || errors.Is(serr, unix.ENOSYS) || errors.Is(serr, unix.EBADF)):
		return 0, errors.ErrUnsupported
	case serr != nil && serr != io.ErrUnexpectedEOF:
		// Either end's: the caller tells them apart (a broken stream
		// fails its next write too).
		return done, fmt.Errorf("splice: %w", serr)
	}
	return done, serr
}

// zeros pads a frame whose file gave less than promised.
var zeros [32 << 10]byte

// writeFileSeg writes the bytes of one file range queued by sendFile: by
// the stream's FileWriter unless it has none or turned out unable, else
// read and written through a buffer. If the file gives fewer bytes, the
// rest are zeros and the sender is told (ErrShortFile). It returns an
// error only for the stream: a failed write of the padding.
func (q *sendQueue) writeFileSeg(s fileSeg) error {
	k := 0
	var ferr error
	if q.fw != nil && !q.noFileWriter {
		k, ferr = q.fw.WriteFile(s.f, s.at, s.n)
		if k == 0 && errors.Is(ferr, errors.ErrUnsupported) {
			q.noFileWriter, ferr = true, nil
		}
	}
	if q.fw == nil || q.noFileWriter {
		var err error
		k, ferr, err = q.copyFileSeg(s)
		if err != nil {
			return err
		}
	}
	if k == s.n {
		return nil
	}
	if ferr == nil {
		ferr = io.ErrUnexpectedEOF
	}
	*s.err = fmt.Errorf("%w: %d of %d bytes at %d: %w", ErrShortFile, k, s.n, s.at, ferr)
	for k < s.n {
		m, err := q.w.Write(zeros[:min(len(zeros), s.n-k)])
		if err != nil {
			return err
		}
		k += m
	}
	return nil
}

// copyFileSeg reads s's range through a buffer and writes it: the file's
// bytes written and, apart, why it gave fewer (ferr) and the stream's
// error (err).
func (q *sendQueue) copyFileSeg(s fileSeg) (k int, ferr, err error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	for k < s.n {
		r, rerr := s.f.ReadAt((*bp)[:min(len(*bp), s.n-k)], s.at+int64(k))
		if r > 0 {
			if _, err := q.w.Write((*bp)[:r]); err != nil {
				return k, nil, err
			}
			k += r
		}
		if rerr != nil && k < s.n {
			return k, rerr, nil
		}
	}
	return k, nil, nil
}

// copyBufs holds copyFileSeg's buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, MaxData); return &b }}
