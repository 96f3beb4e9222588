package syncd

import (
	"os"
	"sync/atomic"

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
// when: the fsync before the rename stays, and these syncs are hints
// (their errors only mean the last fsync does everything).
type earlySync struct {
	next int64 // the file's size at which the next sync starts
	busy atomic.Bool
}

// advance starts a sync of f once it holds end bytes past the step,
// unless one still runs.
func (e *earlySync) advance(f *os.File, end int64) {
	if e.next == 0 {
		e.next = earlySyncStep
	}
	if end < e.next || !e.busy.CompareAndSwap(false, true) {
		return
	}
	e.next = end + earlySyncStep
	rc, err := f.SyscallConn()
	if err != nil {
		e.busy.Store(false)
		return
	}
	go func() {
		defer e.busy.Store(false)
		// Control holds the descriptor open until the sync returns, even
		// if the upload closes the file meanwhile.
		rc.Control(func(fd uintptr) { fdatasync(int(fd)) })
	}()
}

// fdatasync is earlySync's sync; tests wrap it to count them.
var fdatasync = unix.Fdatasync
