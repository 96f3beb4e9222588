package syncd

import (
	"cmp"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// writebackStep is how many bytes of an upload pile up in the page cache
// before their writeback to disk is started.
const writebackStep = 8 << 20

// writeback starts the disk writes of a file being received while the
// rest of it still arrives, so that the fsync before its rename (which
// durability requires and which stays) finds little left to write. Without
// it the kernel starts writing a file back only after dirty_expire (30 s)
// or past dirty_background_ratio (10% of memory, gigabytes), so a large
// upload was all still dirty at its commit and its fsync wrote all of it
// while the client waited: 470-640 ms for 512 MiB here, 30-100 ms with
// writeback started every writebackStep, the bytes arriving no slower
// (rsync --fsync pays the whole wait). It is a hint and changes nothing
// about what is durable when: the content counts as on disk only after
// the fsync.
type writeback struct {
	started int64 // the file's bytes before this have had writeback started
}

// next returns the range whose writeback to start once the file holds end
// bytes: everything since the last start, once that is at least step.
func (w *writeback) next(end, step int64) (off, n int64, ok bool) {
	if end-w.started < step {
		return 0, 0, false
	}
	return w.started, end - w.started, true
}

// advance starts writeback of f's bytes up to end when next says so. An
// error (a file system without support) only means the fsync does it all.
func (w *writeback) advance(f *os.File, end int64) {
	off, n, ok := w.next(end, writebackStep)
	if !ok {
		return
	}
	w.started = end
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

// earlySyncStep is how many bytes of an upload arrive between the
// background syncs of earlySync.
var earlySyncStep int64 = 64 << 20

// earlySync syncs a large upload's file in the background every
// earlySyncStep bytes while the rest still arrives. On a disk with a
// volatile cache (a virtual disk backed by the host's page cache, as
// here) a write is not on the medium until a flush, and the fsync before
// the rename flushed all of a 1 GiB file at once: 0.5 s with the sync
// child idle, at the end of the first-sync bench. Flushed as it comes,
// little is left for that fsync. It changes nothing about what is durable
// when: the sync before the rename stays.
//
// But an error of these syncs counts: a write error is reported once per
// open file (its errseq), to whichever sync of it asks first, and the
// failed pages are clean afterwards; the fsync before the rename would
// find nothing wrong. So the commit waits for the last background sync
// and fails with the first error any had (wait).
type earlySync struct {
	next int64      // the file's size at which the next sync starts
	busy chan error // the running sync's result; nil when none runs
	err  error      // the first error of a finished one
}

// advance starts a sync of f once it holds end bytes past the step,
// unless one still runs.
func (e *earlySync) advance(f *os.File, end int64) {
	if e.next == 0 {
		e.next = earlySyncStep
	}
	if end < e.next {
		return
	}
	if e.busy != nil {
		select {
		case err := <-e.busy:
			e.keep(err)
		default:
			return
		}
	}
	e.next = end + earlySyncStep
	rc, err := f.SyscallConn()
	if err != nil {
		e.keep(err)
		return
	}
	done := make(chan error, 1)
	e.busy = done
	go func() {
		var err error
		// Control holds the descriptor open until the sync returns, even
		// if the upload closes the file meanwhile.
		cerr := rc.Control(func(fd uintptr) { err = fdatasync(int(fd)) })
		done <- cmp.Or(err, cerr)
	}()
}

// keep records err if it is the first, and that no sync runs.
func (e *earlySync) keep(err error) {
	e.busy = nil
	if e.err == nil && err != nil {
		e.err = fmt.Errorf("sync while receiving: %w", err)
	}
}

// wait waits for the sync in flight and returns the first error any had.
func (e *earlySync) wait() error {
	if e.busy != nil {
		e.keep(<-e.busy)
	}
	return e.err
}

// fdatasync is earlySync's sync; tests wrap it to count them.
var fdatasync = unix.Fdatasync
