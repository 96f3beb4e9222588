package sftpd

import (
	"errors"
	"os"
	"strconv"
	"sync"
)

// errTooManyHandles is what an open beyond the session's limit answers.
var errTooManyHandles = errors.New("too many open handles")

// openHandle is what a handle string stands for: an open file or directory.
// Requests on one handle never run at once (see Dispatcher), so the fields
// a request changes (the directory listing's progress) need no lock.
type openHandle struct {
	f     *os.File
	fd    int    // f's descriptor, kept so that each request need not ask f
	flags int    // the open(2) flags it was opened with
	path  string // the client path it was opened with (for messages only)
	dir   bool
	// dotsSent is set once "." and ".." have been listed (directories).
	dotsSent bool
}

// readable reports whether the handle was opened for reading.
func (h *openHandle) readable() bool { return h.flags&3 != 1 } // O_RDONLY 0, O_WRONLY 1, O_RDWR 2

// writable reports whether the handle was opened for writing.
func (h *openHandle) writable() bool { return h.flags&3 != 0 }

// handleTable maps the handle strings given to the client to open files.
// Handles are never reused within a session, so a late request on a closed
// handle cannot reach a file opened since. It is safe for concurrent use.
type handleTable struct {
	max int // 0: no limit

	mu    sync.Mutex
	next  uint64
	files map[string]*openHandle
}

func newHandleTable(max int) *handleTable {
	return &handleTable{max: max, files: make(map[string]*openHandle)}
}

// add registers h and returns its handle string, or errTooManyHandles (h
// is then left open for the caller to close).
func (t *handleTable) add(h *openHandle) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.max > 0 && len(t.files) >= t.max {
		return "", errTooManyHandles
	}
	t.next++
	s := strconv.FormatUint(t.next, 10)
	t.files[s] = h
	return s, nil
}

// full reports whether no handle can be added. OPEN and OPENDIR check it
// before they touch the file system, so that an open refused for the limit
// creates no file; they run one at a time (as barriers), and only CLOSE,
// which frees handles, runs alongside, so add cannot then fail.
func (t *handleTable) full() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max > 0 && len(t.files) >= t.max
}

// get returns the open handle of s.
func (t *handleTable) get(s string) (*openHandle, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.files[s]
	return h, ok
}

// remove forgets handle s and returns it, for the caller to close.
func (t *handleTable) remove(s string) (*openHandle, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.files[s]
	delete(t.files, s)
	return h, ok
}

// closeAll closes every file still open, at the end of the session.
func (t *handleTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s, h := range t.files {
		h.f.Close()
		delete(t.files, s)
	}
}
