package server

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// handleLimit bounds the handles one SFTP session holds open: files and
// directory listings, which the client keeps until it closes them. Without
// it a session could hold as many descriptors as the process may open (Go
// raises the soft RLIMIT_NOFILE to the hard one, often 524,288 under
// systemd) and as many listings, each a whole directory, as memory allows.
// It is safe for concurrent use; a nil *handleLimit does not limit.
type handleLimit struct {
	max int
	err error // what a refused open answers
	log *slog.Logger

	mu     sync.Mutex
	open   int
	logged bool // the first refusal is logged, the rest would flood the log
}

// newHandleLimit returns a limit of max open handles; max <= 0 means none.
func newHandleLimit(max int, log *slog.Logger) *handleLimit {
	if max <= 0 {
		return nil
	}
	return &handleLimit{max: max, log: log, err: fmt.Errorf("too many open handles (limit %d)", max)}
}

// acquire takes one handle, or returns the error the client is to get
// (which the sftp server answers as SSH_FX_FAILURE with its text).
func (l *handleLimit) acquire() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max {
		if !l.logged {
			l.logged = true
			l.log.Warn("sftp open refused", "reason", "too many open handles", "limit", l.max)
		}
		return l.err
	}
	l.open++
	return nil
}

// release gives back a handle taken by acquire.
func (l *handleLimit) release() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// handleFile is an open file that gives its handle back once closed. The
// sftp server closes it when the client closes the handle or the session
// ends.
type handleFile struct {
	*os.File
	once    sync.Once
	release func()
}

// Close closes the file and, the first time, gives the handle back.
func (h *handleFile) Close() error {
	h.once.Do(h.release)
	return h.File.Close()
}

// handleList is a directory listing that gives its handle back once closed.
type handleList struct {
	listerAt
	once    sync.Once
	release func()
}

// Close gives the handle back.
func (h *handleList) Close() error {
	h.once.Do(h.release)
	return nil
}

// openHandle opens p for a file handle, within the session's limit.
func (f *sftpFS) openHandle(p string, flags int, mode uint32) (*handleFile, error) {
	if err := f.handles.acquire(); err != nil {
		return nil, err
	}
	file, err := f.r.OpenFile(p, flags, mode, true)
	if err != nil {
		f.handles.release()
		return nil, err
	}
	return &handleFile{File: file, release: f.handles.release}, nil
}

// listHandle lists the directory p for a directory handle, within the
// session's limit.
func (f *sftpFS) listHandle(p string) (*handleList, error) {
	if err := f.handles.acquire(); err != nil {
		return nil, err
	}
	l, err := f.r.List(p)
	if err != nil {
		f.handles.release()
		return nil, err
	}
	return &handleList{listerAt: listerAt(l), release: f.handles.release}, nil
}
