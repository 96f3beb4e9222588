package sftpd

import (
	"errors"
	"os"
	"strconv"
	"sync"
)

// errTooManyHandles is what an open beyond the session's limit answers.
var errTooManyHandles = errors.New("too many open handles")

// handleTable maps the handle strings given to the client to open files.
// Handles are never reused within a session, so a late request on a closed
// handle cannot reach a file opened since. It is safe for concurrent use.
type handleTable struct {
	max int // 0: no limit

	mu    sync.Mutex
	next  uint64
	files map[string]*os.File
}

func newHandleTable(max int) *handleTable {
	return &handleTable{max: max, files: make(map[string]*os.File)}
}

// add registers f and returns its handle, or errTooManyHandles (f is then
// left open for the caller to close).
func (t *handleTable) add(f *os.File) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.max > 0 && len(t.files) >= t.max {
		return "", errTooManyHandles
	}
	t.next++
	h := strconv.FormatUint(t.next, 10)
	t.files[h] = f
	return h, nil
}

// get returns the file of handle h.
func (t *handleTable) get(h string) (*os.File, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.files[h]
	return f, ok
}

// remove forgets handle h and returns its file, for the caller to close.
func (t *handleTable) remove(h string) (*os.File, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.files[h]
	delete(t.files, h)
	return f, ok
}

// closeAll closes every file still open, at the end of the session.
func (t *handleTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, f := range t.files {
		f.Close()
		delete(t.files, h)
	}
}
