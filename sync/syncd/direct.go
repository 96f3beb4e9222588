package syncd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// A large upload is written past its first directFrom bytes with O_DIRECT,
// from two aligned buffers that take turns: one fills from the Data frames
// while the other is written on a goroutine of its own. Through the page
// cache, copying the bytes into newly allocated cache pages was the
// largest single cost of the sync child in a first sync with a 1 GiB file
// (copy_folio_from_iter_atomic, about 3 of its 14 CPU-s on this machine's
// virtual disk and memory); a direct write hands the buffer to the disk
// instead, and nothing is left dirty for the fsync to find.
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
	// directBuf is the size of each of an upload's two buffers.
	directBuf = 2 << 20
	// directAlign is what the offset, length and memory of a direct write
	// are multiples of: the largest logical block size of disks in use.
	directAlign = 4096
)

// directSlots bounds the uploads that write directly at once, and so the
// memory of their buffers (2 x directBuf each); the others use the page
// cache.
var directSlots = make(chan struct{}, 4)

// directWriter writes a file's bytes, given in order from an aligned
// offset, with O_DIRECT. Not safe for concurrent use.
type directWriter struct {
	f    *os.File
	mem  []byte    // both buffers, from mmap (page-aligned)
	bufs [2][]byte // halves of mem
	i    int       // the buffer being filled
	n    int       // bytes in it
	off  int64     // the file offset of its first byte
	busy chan error
	err  error // the first write error: every later call returns it
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
	mem, err := unix.Mmap(-1, 0, 2*directBuf, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		<-directSlots
		return nil
	}
	if err := setDirect(f, true); err != nil {
		unix.Munmap(mem)
		<-directSlots
		return nil
	}
	w := &directWriter{f: f, mem: mem, off: off}
	w.bufs[0], w.bufs[1] = mem[:directBuf:directBuf], mem[directBuf:]
	return w
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
		if w.err != nil {
			return w.err
		}
		if w.mem == nil {
			return errors.New("write after the direct writer was released")
		}
		k := copy(w.bufs[w.i][w.n:], b)
		w.n += k
		b = b[k:]
		if w.n == directBuf {
			w.submit()
		}
	}
	return w.err
}

// submit starts the write of the full buffer on a goroutine, once the one
// before it is done, and turns to the other buffer.
func (w *directWriter) submit() {
	if w.wait() != nil {
		return
	}
	buf, off, done := w.bufs[w.i][:w.n], w.off, make(chan error, 1)
	go func() { done <- directWriteAt(w.f, buf, off) }()
	w.busy = done
	w.off += int64(w.n)
	w.i ^= 1
	w.n = 0
}

// wait waits for the write in flight, if any, and returns the first error.
func (w *directWriter) wait() error {
	if w.busy != nil {
		if err := <-w.busy; err != nil && w.err == nil {
			w.err = err
		}
		w.busy = nil
	}
	return w.err
}

// finish writes what the buffers hold, the aligned part directly and the
// rest through the page cache, turns O_DIRECT off and releases the
// buffers. Every byte given to write is in the file when it returns nil.
func (w *directWriter) finish() error {
	defer w.release()
	if err := w.wait(); err != nil {
		return err
	}
	buf := w.bufs[w.i][:w.n]
	aligned := w.n &^ (directAlign - 1)
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
// back; bytes not yet written are dropped. It may be called more than
// once.
func (w *directWriter) release() {
	w.wait()
	if w.mem != nil {
		unix.Munmap(w.mem)
		w.mem, w.bufs = nil, [2][]byte{}
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
