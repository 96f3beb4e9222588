package wipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// grid cuts [off, size) into pieces on an absolute grid of chunk bytes, so
// every piece but the first and last starts and ends aligned.
type grid struct {
	off, size, chunk int64
	first            int64 // index of the chunk holding off
	n                int   // number of pieces
}

func newGrid(off, size, chunk int64) grid {
	first := off / chunk
	return grid{off: off, size: size, chunk: chunk, first: first, n: int((size-1)/chunk - first + 1)}
}

// piece returns the bounds of piece i.
func (g grid) piece(i int) (lo, hi int64) {
	k := g.first + int64(i)
	return max(g.off, k*g.chunk), min(g.size, (k+1)*g.chunk)
}

// pieceRun is one phase of runPieces: what every worker shares.
type pieceRun struct {
	t      *Target
	phase  string
	ks     *keystream // nil for zero mode
	zero   []byte     // a chunk of zeroes, read only
	direct atomic.Bool
	log    *slog.Logger
}

// do writes piece [lo, lo+len(buf)) or reads it back and compares it. want
// is scratch space for the expected keystream in a verify pass.
func (r *pieceRun) do(buf, want []byte, lo int64) error {
	n := len(buf)
	expected := r.zero[:n]
	if r.ks != nil {
		expected = want[:n]
		r.ks.fill(expected, lo)
	}
	if r.phase == "write" {
		if err := r.t.writeAt(expected, lo, &r.direct, r.log); err != nil {
			return &StopError{Phase: r.phase, At: lo, Err: err}
		}
		return nil
	}
	if err := r.t.readAt(buf, lo, &r.direct); err != nil {
		return &StopError{Phase: r.phase, At: lo, Err: err}
	}
	if !bytes.Equal(buf, expected) {
		at := lo + int64(firstDiff(buf, expected))
		return &StopError{Phase: r.phase, At: at, Err: fmt.Errorf("byte at offset %d: %w", at, ErrMismatch)}
	}
	return nil
}

// runPieces writes (phase "write") or reads back and compares (phase
// "verify") every piece of the target with o.Workers goroutines, each
// generating its own data.
func runPieces(ctx context.Context, t *Target, o Options, phase string, ks *keystream, log *slog.Logger) error {
	g := newGrid(o.Offset, t.Size, int64(o.ChunkSize))
	tr := newTracker(phase, g)
	stop := startReporter(tr, o)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	zero, err := alignedBuf(o.ChunkSize)
	if err != nil {
		return err
	}
	defer unix.Munmap(zero)
	r := &pieceRun{t: t, phase: phase, ks: ks, zero: zero, log: log}
	r.direct.Store(t.direct != nil)
	var (
		next atomic.Int64
		mu   sync.Mutex
		fail *StopError
		wg   sync.WaitGroup
	)
	worker := func() error {
		// buf is what is read back, want what is written or expected.
		buf, err := alignedBuf(o.ChunkSize)
		if err != nil {
			return err
		}
		defer unix.Munmap(buf)
		want, err := alignedBuf(o.ChunkSize)
		if err != nil {
			return err
		}
		defer unix.Munmap(want)
		for ctx.Err() == nil {
			i := int(next.Add(1) - 1)
			if i >= g.n {
				return nil
			}
			lo, hi := g.piece(i)
			if err := r.do(buf[:hi-lo], want, lo); err != nil {
				return err
			}
			tr.complete(i, hi-lo)
		}
		return nil
	}
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := worker(); err != nil {
				var se *StopError
				if !errors.As(err, &se) {
					se = &StopError{Phase: phase, Err: err}
				}
				mu.Lock()
				if fail == nil {
					fail = se
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	resume := tr.resume()
	if fail != nil {
		if fail.At == 0 {
			fail.At = resume
		}
		fail.Resume = resume
		return fail
	}
	if resume < t.Size { // cancelled from outside
		return &StopError{Phase: phase, At: resume, Resume: resume, Err: context.Cause(ctx)}
	}
	return nil
}

// runDiscard discards or zeroes the target range by range.
func runDiscard(ctx context.Context, t *Target, o Options) error {
	step := int64(64 << 20) // BLKZEROOUT may write zeroes itself: keep progress flowing
	if o.Mode == Discard {
		step = 1 << 30
	}
	g := newGrid(o.Offset, t.Size, step)
	tr := newTracker("write", g)
	stop := startReporter(tr, o)
	defer stop()
	for i := 0; i < g.n; i++ {
		if err := ctx.Err(); err != nil {
			return &StopError{Phase: "write", At: tr.resume(), Resume: tr.resume(), Err: err}
		}
		lo, hi := g.piece(i)
		if err := t.discardRange(o.Mode, o.Secure, lo, hi-lo); err != nil {
			return &StopError{Phase: "write", At: lo, Resume: tr.resume(), Err: err}
		}
		tr.complete(i, hi-lo)
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// alignedBuf returns page-aligned memory, as direct I/O needs.
func alignedBuf(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("allocate %d bytes of aligned memory: %w", n, err)
	}
	return b, nil
}

// useDirect reports whether a piece goes through the O_DIRECT descriptor.
func (t *Target) useDirect(b []byte, off int64, direct *atomic.Bool) bool {
	return direct.Load() && t.direct != nil && off%t.Align == 0 && int64(len(b))%t.Align == 0
}

// writeAt writes b at off, through O_DIRECT where it can; when the kernel
// refuses direct I/O (EINVAL) it falls back to buffered writes for good.
func (t *Target) writeAt(b []byte, off int64, direct *atomic.Bool, log *slog.Logger) error {
	if t.useDirect(b, off, direct) {
		err := writeFull(t.direct, b, off)
		if !errors.Is(err, syscall.EINVAL) {
			return err
		}
		if direct.Swap(false) {
			log.Info("direct I/O refused; continuing with buffered writes", "error", err)
		}
	}
	return writeFull(t.file, b, off)
}

// readAt reads b at off, through O_DIRECT where it can, falling back like
// writeAt.
func (t *Target) readAt(b []byte, off int64, direct *atomic.Bool) error {
	var err error
	if t.useDirect(b, off, direct) {
		if _, err = t.direct.ReadAt(b, off); !errors.Is(err, syscall.EINVAL) {
			return readErr(err)
		}
		direct.Store(false)
	}
	_, err = t.file.ReadAt(b, off)
	return readErr(err)
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("read: %w", io.ErrUnexpectedEOF)
	}
	return err
}

func writeFull(f *os.File, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := f.WriteAt(b, off)
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// sync flushes written data to the device, its write cache included.
func (t *Target) sync() error {
	if err := t.file.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", t.Path, err)
	}
	return nil
}

// dropCache evicts the page cache for the wiped range, so that a verify
// pass through buffered reads sees the device and not the cache.
func (t *Target) dropCache(off int64) {
	_ = unix.Fadvise(int(t.file.Fd()), off, 0, unix.FADV_DONTNEED)
}
