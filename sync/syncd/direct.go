package syncd

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"simplecloud/internal/gcfloor"
)

// A large upload is written past its first directFrom bytes with O_DIRECT,
// from aligned buffers: the upload fills one at a time, and full ones
// queue for a goroutine of its own that writes them in order. Through the
// page cache, copying the bytes into newly allocated cache pages was the
// largest single cost of the sync child in a first sync with a 1 GiB file
// (copy_folio_from_iter_atomic, about 3 of its 14 CPU-s on this machine's
// virtual disk and memory); a direct write hands the buffer to the disk
// instead, and nothing is left dirty for the fsync to find.
//
// Why a queue of directBufs, not two buffers taking turns: while an early
// sync (writeback.go) flushes the disk's cache, the disk holds writes back
// (here a flush of 64 MiB takes about 50 ms, and a direct write waits for
// it). With two buffers the upload stopped at the second, and with it the
// frames, the SSH window and the client: in a 1 GiB upload it waited 1.2 s
// of 4 for the disk. 16 MiB of queue covers such a flush at the rate the
// bytes arrive: it waited 0.4 s, and the upload took 3.67-4.56 s against
// 4.08-4.88 s (each of 7 interleaved pairs faster, by 0.03-1.09 s).
//
// It changes nothing about what is durable when: commit waits for every
// direct write to finish and then syncs the file as before (a direct write
// is not durable until the fsync: the disk's cache and the file's extents),
// and only then renames it. A file system that refuses O_DIRECT, or a
// write it refuses (EINVAL: a disk whose block is larger than
// directAlign), only means the upload is written through the page cache.
const (
	// directFrom: an upload's first bytes go through the page cache, so
	// small files (nearly all of a tree) never pay for a buffer.
	directFrom = 8 << 20
	// directBuf is the size of each of an upload's directBufs buffers:
	// what one direct write carries.
	directBuf  = 2 << 20
	directBufs = 8
	// directAlign is what the offset, length and memory of a direct write
	// are multiples of: the largest logical block size of disks in use.
	directAlign = 4096
	// directHeapFloor is how far above the live heap the collector's goal
	// stays while an upload writes directly (see gcfloor): its SSH packets
	// are a 32 KiB allocation each, and with a few MiB live a 1 GiB upload
	// made 85 collections.
	directHeapFloor = 64 << 20
)

// directSlots bounds the uploads that write directly at once, and so the
// memory of their buffers (directBufs x directBuf each: 32 MiB for both
// slots); the others use the page cache.
var directSlots = make(chan struct{}, 2)

// directWriter writes a file's bytes, given in order from an aligned
// offset, with O_DIRECT. The caller fills one buffer at a time; full ones
// queue for a goroutine that writes them in order, so a disk that stalls
// for a while (its cache flushed by an early sync) holds up the upload
// only once every buffer waits. Not safe for concurrent use.
type directWriter struct {
	f     *os.File
	mem   []byte // every buffer, from mmap (page-aligned)
	cur   []byte // the buffer being filled: its length is what it holds
	off   int64  // the file offset of cur's first byte
	free  chan []byte
	queue chan directBlock
	done  chan struct{} // closed when the writing goroutine has ended
	drop  atomic.Bool   // release: write nothing more
	floor func()        // releases the collector's floor
	werr  atomic.Pointer[error]
	err   error // the first write error: every later call returns it
}

// directBlock is a full buffer and where it goes.
type directBlock struct {
	b   []byte
	off int64
}

// startDirect switches f to direct writes from off (a multiple of
// directAlign), or returns nil: no slot free, or no O_DIRECT here.
func startDirect(f *os.File, off int64) *directWriter {
	if off%directAlign != 0 {
		return nil
	}
	select {
	case directSlots <- struct{}{}:
	default:
		return nil
	}
	mem, err := unix.Mmap(-1, 0, directBufs*directBuf, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		<-directSlots
		return nil
	}
	if err := setDirect(f, true); err != nil {
		unix.Munmap(mem)
		<-directSlots
		return nil
	}
	w := &directWriter{f: f, mem: mem, off: off, free: make(chan []byte, directBufs),
		queue: make(chan directBlock, directBufs), done: make(chan struct{})}
	for i := range directBufs {
		w.free <- mem[i*directBuf : i*directBuf : (i+1)*directBuf]
	}
	w.cur = <-w.free
	w.floor = gcfloor.Hold(directHeapFloor)
	go w.run(w.queue)
	return w
}

// run writes the buffers queued on queue in order until it is closed.
// After a failed write (or a release) it writes nothing more, and only
// gives the buffers back. The queue is its argument, not read from w: stop
// sets w.queue to nil, and a run that started only after that waited on a
// nil channel for ever.
func (w *directWriter) run(queue <-chan directBlock) {
	defer close(w.done)
	for blk := range queue {
		if w.werr.Load() == nil && !w.drop.Load() {
			if err := directWriteAt(w.f, blk.b, blk.off); err != nil {
				w.werr.Store(&err)
			}
		}
		w.free <- blk.b[:0]
	}
}

// setDirect turns O_DIRECT on or off for f.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			serr = err
			return
		}
		if on {
			fl |= unix.O_DIRECT
		} else {
			fl &^= unix.O_DIRECT
		}
		_, serr = unix.FcntlInt(fd, unix.F_SETFL, fl)
	})
	if cerr != nil {
		return cerr
	}
	if serr != nil {
		return fmt.Errorf("set O_DIRECT to %v: %w", on, serr)
	}
	return nil
}

// write takes all of b: it is written once a buffer is full, or by finish.
// The error is that of an earlier write, if one failed.
func (w *directWriter) write(b []byte) error {
	for len(b) > 0 {
		if w.check() != nil {
			return w.err
		}
		if w.mem == nil {
			return errors.New("write after the direct writer was released")
		}
		n := len(w.cur)
		k := copy(w.cur[n:cap(w.cur)], b)
		w.cur = w.cur[:n+k]
		b = b[k:]
		if len(w.cur) == cap(w.cur) {
			w.queue <- directBlock{w.cur, w.off}
			w.off += int64(len(w.cur))
			w.cur = <-w.free
		}
	}
	return w.check()
}

// check returns the first error the writing goroutine has met, if any.
func (w *directWriter) check() error {
	if w.err == nil {
		if p := w.werr.Load(); p != nil {
			w.err = *p
		}
	}
	return w.err
}

// stop ends the writing goroutine once the queue is written (or, with
// drop, given back) and waits for it. It may be called more than once.
func (w *directWriter) stop() {
	if w.queue != nil {
		close(w.queue)
		w.queue = nil
		<-w.done
	}
}

// finish writes what the buffers hold, the aligned part directly and the
// rest through the page cache, turns O_DIRECT off and releases the
// buffers. Every byte given to write is in the file when it returns nil.
func (w *directWriter) finish() error {
	defer w.release()
	w.stop()
	if err := w.check(); err != nil {
		return err
	}
	buf := w.cur
	aligned := len(buf) &^ (directAlign - 1)
	if err := directWriteAt(w.f, buf[:aligned], w.off); err != nil {
		return err
	}
	if err := setDirect(w.f, false); err != nil {
		return err
	}
	_, err := w.f.WriteAt(buf[aligned:], w.off+int64(aligned))
	return err
}

// release waits for the write in flight and gives the buffers and the slot
// back; bytes not yet written (queued or not) are dropped. It may be
// called more than once.
func (w *directWriter) release() {
	w.drop.Store(true)
	w.stop()
	if w.mem != nil {
		unix.Munmap(w.mem)
		w.mem, w.cur = nil, nil
		w.floor()
		<-directSlots
	}
}

// directWriteAt writes all of b at off. A direct write the file system
// refuses (EINVAL) turns O_DIRECT off and is made through the page cache.
func directWriteAt(f *os.File, b []byte, off int64) error {
	if len(b) == 0 {
		return nil
	}
	_, err := pwrite(f, b, off)
	if errors.Is(err, unix.EINVAL) {
		if err = setDirect(f, false); err == nil {
			_, err = f.WriteAt(b, off)
		}
	}
	return err
}

// pwrite is how direct writes are made; tests wrap it to watch them.
var pwrite = (*os.File).WriteAt

// dropCached drops a file's pages from the page cache; its bytes must be
// on disk (clean pages are dropped, dirty ones stay). An upload's are,
// once its content is durable: the server does not read them back (the
// hash was computed as they arrived), and the pages freed are the ones
// the next uploads' writes are given. Left cached, every upload's writes
// took newly allocated pages, and on this machine's virtual memory the
// first touch of such a page costs several times the copy into it: 10,000
// files of 1-64 KiB, each synced, cost 0.67-1.12 CPU-s to write kept
// against 0.57-0.60 dropped. A large upload's direct writes keep nothing
// cached for the same reason. The advice failing only leaves the pages.
// The client keeps its downloads cached: they are the user's working
// files, opened soon after they arrive.
func dropCached(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
