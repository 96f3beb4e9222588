package sftpd

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maxRead is the most a READ returns and a WRITE may carry, as OpenSSH's
// sftp-server (its SFTP_MAX_READ_LENGTH): a packet less room for headers.
func (s *session) maxRead() uint32 { return uint32(s.opts.MaxPacket - 1024) }

// fileHandle returns the open file (not directory) of handle h.
func (s *session) fileHandle(h string) (*openHandle, error) {
	oh, ok := s.handles.get(h)
	if !ok || oh.dir {
		return nil, errBadHandle
	}
	return oh, nil
}

// open answers OPEN: it opens the path with OpenSSH's flags and, when it
// creates the file, the client's permissions (0666 if none) less the umask.
func (s *session) open(p *Open) *[]byte {
	if s.handles.full() {
		return s.refuseHandle(p.ID)
	}
	flags := openFlags(p.PFlags)
	mode := createMode(p.Attrs, 0o666) &^ s.opts.Umask
	f, err := s.root.OpenFile(p.Path, flags, mode, true)
	if err != nil {
		return errFrame(p.ID, err)
	}
	oh := &openHandle{f: f, fd: int(f.Fd()), flags: flags, path: p.Path}
	return s.addHandle(p.ID, oh)
}

// addHandle registers oh and answers its HANDLE, or closes it and answers
// the failure when the session holds too many.
func (s *session) addHandle(id uint32, oh *openHandle) *[]byte {
	h, err := s.handles.add(oh)
	if err != nil {
		oh.f.Close()
		return s.refuseHandle(id)
	}
	return frame(Handle(id, h))
}

// refuseHandle answers an open beyond the session's handle limit (logged
// once per session: the rest would flood the log).
func (s *session) refuseHandle(id uint32) *[]byte {
	s.refused.Do(func() {
		s.log.Warn("sftp open refused", "reason", "too many open handles", "limit", s.opts.MaxHandles)
	})
	return errFrame(id, fmt.Errorf("%w (limit %d)", errTooManyHandles, s.opts.MaxHandles))
}

// closeHandle answers CLOSE.
func (s *session) closeHandle(p *HandleReq) *[]byte {
	oh, ok := s.handles.remove(p.Handle)
	if !ok {
		return errFrame(p.ID, errBadHandle)
	}
	return errFrame(p.ID, oh.f.Close())
}

// read answers READ with pread on the descriptor, straight into the
// reply's buffer: DATA with what was read (short at the end of the file),
// or SSH_FX_EOF at or past the end.
func (s *session) read(p *Read) *[]byte {
	oh, err := s.fileHandle(p.Handle)
	if err != nil {
		return errFrame(p.ID, err)
	}
	n := min(p.Len, s.maxRead())
	const hdr = 4 + 1 + 4 + 4 // length, type, id, data length
	b := getBuf(hdr + int(n))
	buf := (*b)[:hdr+int(n)]
	got, err := preadFull(oh.fd, buf[hdr:], int64(p.Offset))
	if err != nil || got == 0 {
		putBuf(b)
		if err == nil {
			return statusFrame(p.ID, StatusEOF, "End of file")
		}
		return errFrame(p.ID, &os.PathError{Op: "read", Path: oh.path, Err: err})
	}
	binary.BigEndian.PutUint32(buf[0:], uint32(hdr-4+got))
	buf[4] = TypeData
	binary.BigEndian.PutUint32(buf[5:], p.ID)
	binary.BigEndian.PutUint32(buf[9:], uint32(got))
	*b = buf[:hdr+got]
	return b
}

// preadFull reads into b at off until b is full, the file ends or a read
// fails; it returns what it read and the error only when it read nothing.
func preadFull(fd int, b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Pread(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
		done += n
	}
	return done, nil
}

// write answers WRITE with pwrite on the descriptor. On a file opened with
// APPEND, Linux's pwrite appends whatever the offset, as OpenSSH's
// sftp-server (which skips its seek then) does.
func (s *session) write(p *Write) *[]byte {
	oh, err := s.fileHandle(p.Handle)
	if err != nil {
		return errFrame(p.ID, err)
	}
	if uint32(len(p.Data)) > uint32(s.opts.MaxPacket) {
		return errFrame(p.ID, unix.EINVAL)
	}
	data, off := p.Data, int64(p.Offset)
	for len(data) > 0 {
		n, err := unix.Pwrite(oh.fd, data, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return errFrame(p.ID, &os.PathError{Op: "write", Path: oh.path, Err: err})
		}
		if n == 0 {
			return errFrame(p.ID, &os.PathError{Op: "write", Path: oh.path, Err: unix.EIO})
		}
		data, off = data[n:], off+int64(n)
	}
	return errFrame(p.ID, nil)
}

// fstat answers FSTAT from the descriptor.
func (s *session) fstat(p *HandleReq) *[]byte {
	oh, ok := s.handles.get(p.Handle)
	if !ok {
		return errFrame(p.ID, errBadHandle)
	}
	a, err := fstat(oh.f)
	if err != nil {
		return errFrame(p.ID, err)
	}
	return frame(&AttrsReply{ID: p.ID, Attrs: a})
}

// fsetstat answers FSETSTAT on the descriptor.
func (s *session) fsetstat(p *Fsetstat) *[]byte {
	oh, err := s.fileHandle(p.Handle)
	if err != nil {
		return errFrame(p.ID, err)
	}
	return errFrame(p.ID, fsetstat(oh.f, p.Attrs))
}
