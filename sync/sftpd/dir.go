package sftpd

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readdirBatch is the most entries one READDIR answers, as OpenSSH's
// sftp-server.
const readdirBatch = 100

// opendir answers OPENDIR: the directory is opened, and read a batch at a
// time by READDIR, so that a large directory costs no more memory than
// a batch.
func (s *session) opendir(id uint32, p string) *[]byte {
	if s.handles.full() {
		return s.refuseHandle(id)
	}
	f, err := s.root.OpenFile(p, unix.O_RDONLY|unix.O_DIRECTORY, 0, true)
	if err != nil {
		return errFrame(id, err)
	}
	return s.addHandle(id, &openHandle{f: f, fd: int(f.Fd()), flags: unix.O_RDONLY, path: p, dir: true})
}

// readdir answers READDIR with the next batch of entries, "." and ".."
// first, each with its attributes (a final symbolic link not followed) and
// an ls -l line; SSH_FX_EOF when none are left. Entries removed between
// reading the directory and their stat are left out, as OpenSSH does.
func (s *session) readdir(p *HandleReq) *[]byte {
	oh, ok := s.handles.get(p.Handle)
	if !ok || !oh.dir {
		return errFrame(p.ID, errBadHandle)
	}
	var names []string
	if !oh.dotsSent {
		oh.dotsSent = true
		names = append(names, ".", "..")
	}
	more, err := oh.f.Readdirnames(readdirBatch - len(names))
	if err != nil && err != io.EOF {
		return errFrame(p.ID, &os.PathError{Op: "readdir", Path: oh.path, Err: err})
	}
	names = append(names, more...)
	ents := make([]NameEntry, 0, len(names))
	for _, n := range names {
		var st unix.Stat_t
		if err := s.statEntry(oh, n, &st); err != nil {
			continue
		}
		ents = append(ents, NameEntry{Name: n, LongName: s.longName(n, &st), Attrs: statAttrs(&st)})
	}
	if len(ents) == 0 {
		return statusFrame(p.ID, StatusEOF, "End of file")
	}
	return frame(&Name{ID: p.ID, Entries: ents})
}

// statEntry stats entry n of directory oh without following a final link.
// The root's ".." is the root itself: what lies above is not the client's.
func (s *session) statEntry(oh *openHandle, n string, st *unix.Stat_t) error {
	if n == ".." {
		if err := unix.Fstat(oh.fd, st); err != nil {
			return err
		}
		if (fileID{uint64(st.Dev), st.Ino}) == s.rootID {
			return nil
		}
	}
	for {
		err := unix.Fstatat(oh.fd, n, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}
