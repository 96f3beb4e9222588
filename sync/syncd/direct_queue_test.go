package syncd

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startTestDirect opens a new file in a test directory and starts a
// direct writer on it, or skips where the file system refuses O_DIRECT.
func startTestDirect(t *testing.T) (*os.File, *directWriter) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w := startDirect(f, 0)
	if w == nil {
		t.Skip("no O_DIRECT on this file system")
	}
	t.Cleanup(w.release)
	return f, w
}

// TestDirectWriterQueues: while the disk holds one write back (a flush
// of its cache), the upload goes on filling the other buffers instead of
// waiting; the bytes land in order once the disk goes on.
func TestDirectWriterQueues(t *testing.T) {
	gate := make(chan struct{})
	var (
		mu   sync.Mutex
		offs []int64
	)
	old := pwrite
	pwrite = func(f *os.File, b []byte, off int64) (int, error) {
		<-gate
		mu.Lock()
		offs = append(offs, off)
		mu.Unlock()
		return old(f, b, off)
	}
	t.Cleanup(func() { pwrite = old })
	f, w := startTestDirect(t)

	data := make([]byte, (directBufs-1)*directBuf+100)
	rand.Read(data)
	done := make(chan error, 1)
	go func() { done <- w.write(data) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(gate)
		<-done // the writer is not safe for concurrent use: no release before
		t.Fatalf("write of %d buffers waited for a disk that held the first back", directBufs-1)
	}
	close(gate)
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("file holds %d bytes, not the %d written", len(got), len(data))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(offs) < directBufs-1 {
		t.Fatalf("%d direct writes, want at least %d", len(offs), directBufs-1)
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] <= offs[i-1] {
			t.Fatalf("direct writes out of order: %v", offs)
		}
	}
}

// TestDirectWriterError: a direct write that fails is reported by finish
// (and by writes after it is seen), and nothing after it is written.
func TestDirectWriterError(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
	)
	old := pwrite
	pwrite = func(f *os.File, b []byte, off int64) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return 0, unix.EIO
	}
	t.Cleanup(func() { pwrite = old })
	_, w := startTestDirect(t)

	data := make([]byte, 3*directBuf)
	if err := w.write(data); err != nil && !errors.Is(err, unix.EIO) {
		t.Fatalf("write: %v, want nil or EIO", err)
	}
	if err := w.finish(); !errors.Is(err, unix.EIO) {
		t.Fatalf("finish: %v, want EIO", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d direct writes tried, want 1: none after the one that failed", calls)
	}
}

// TestDirectWriterStopsAtOnce: a writer finished right after it started
// ends, even when its goroutine had not yet run (it once read the queue
// from the writer after stop had cleared it, and waited for ever).
func TestDirectWriterStopsAtOnce(t *testing.T) {
	f, w := startTestDirect(t)
	w.release()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 500 {
			if w := startDirect(f, 0); w != nil {
				w.release()
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a direct writer released at once did not stop")
	}
}
