package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateWriter holds its first write until open is closed, and records the
// size of every write.
type gateWriter struct {
	open    chan struct{}
	started chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
	sizes   []int
	fail    error
}

func newGateWriter() *gateWriter {
	return &gateWriter{open: make(chan struct{}), started: make(chan struct{}, 1)}
}

func (w *gateWriter) Write(b []byte) (int, error) {
	select {
	case w.started <- struct{}{}:
	default:
	}
	<-w.open
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sizes = append(w.sizes, len(b))
	if w.fail != nil {
		return 0, w.fail
	}
	return w.buf.Write(b)
}

// sendOnly is a Conn that writes to w and has nothing to read.
func sendOnly(w io.Writer) *Conn {
	return newConn(struct {
		io.Reader
		io.Writer
	}{strings.NewReader(""), w})
}

// TestSendGroups sends from many goroutines while a write is held: the
// frames queued meanwhile go out together in the next write, every frame
// arrives whole, and each sender's frames keep their order. (Without a
// write in progress a frame goes out on its own at once.)
func TestSendGroups(t *testing.T) {
	w := newGateWriter()
	c := sendOnly(w)
	const senders, each = 16, 20
	first := make(chan error, 1)
	go func() { first <- c.Send(1000, true, &Bye{Reason: "first"}) }()
	<-w.started // the first frame's write is in progress and held
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				d := &Data{Offset: uint64(i), Bytes: []byte(fmt.Sprintf("sender %d frame %d", s, i))}
				if err := c.Send(uint32(s+1), i == each-1, d); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	// Each sender has its first frame queued behind the held write before
	// it is let go; the rest may go in later writes.
	waitQueued(t, c.q, senders)
	close(w.open)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if min := senders * (4 + headerLen + 8 + len("sender 0 frame 0")); w.sizes[1] < min {
		t.Errorf("the write after the held one was %d bytes, want at least %d: the %d frames queued meanwhile were not in it", w.sizes[1], min, senders)
	}
	r := newConn(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(w.buf.Bytes()), io.Discard})
	next := map[uint32]uint64{}
	for range senders*each + 1 {
		f, err := r.Recv()
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		d, ok := f.Msg.(*Data)
		if !ok {
			continue
		}
		if want := fmt.Sprintf("sender %d frame %d", f.ID-1, d.Offset); string(d.Bytes) != want || d.Offset != next[f.ID] {
			t.Fatalf("got %q at offset %d of id %d, want offset %d", d.Bytes, d.Offset, f.ID, next[f.ID])
		}
		next[f.ID]++
	}
	if _, err := r.Recv(); err != io.EOF {
		t.Errorf("after every frame: %v, want EOF", err)
	}
}

// waitQueued waits until n frames are queued behind the write in progress.
func waitQueued(t *testing.T, q *sendQueue, n int) {
	t.Helper()
	for start := time.Now(); ; {
		q.mu.Lock()
		k := countFrames(q.pend)
		q.mu.Unlock()
		if k >= n {
			return
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%d frames queued behind a held write after 10 s, want %d", k, n)
		}
		runtime.Gosched()
	}
}

// countFrames counts the whole frames in b.
func countFrames(b []byte) int {
	n := 0
	for len(b) >= 4 {
		size := 4 + int(binary.BigEndian.Uint32(b))
		if size > len(b) {
			break
		}
		b = b[size:]
		n++
	}
	return n
}

// TestSendBounded holds a write while senders of large frames keep
// coming: what waits behind it stays within maxQueued and one frame.
func TestSendBounded(t *testing.T) {
	w := newGateWriter()
	c := sendOnly(w)
	big := make([]byte, MaxData)
	var wg sync.WaitGroup
	for s := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Send(uint32(s+1), true, &Data{Bytes: big}); err != nil {
				t.Errorf("send: %v", err)
			}
		}()
	}
	<-w.started
	close(w.open)
	wg.Wait()
	for _, n := range w.sizes {
		if n > maxQueued+MaxFrame+4 {
			t.Errorf("a write of %d bytes, more than %d queued and a frame", n, maxQueued)
		}
	}
	if got, want := w.buf.Len(), 32*(4+headerLen+8+MaxData); got != want {
		t.Errorf("%d bytes written, want %d", got, want)
	}
}

// TestSendAfterFailure: a failed write fails its Send and every later one,
// which write nothing more (the stream is broken mid-frame).
func TestSendAfterFailure(t *testing.T) {
	w := newGateWriter()
	close(w.open)
	broken := errors.New("pipe broken")
	w.fail = broken
	c := sendOnly(w)
	if err := c.Send(1, true, &Bye{}); !errors.Is(err, broken) {
		t.Fatalf("send on a failing writer: %v, want %v", err, broken)
	}
	if err := c.Send(2, true, &Bye{}); !errors.Is(err, broken) {
		t.Errorf("send after the failure: %v, want %v", err, broken)
	}
	if len(w.sizes) != 1 {
		t.Errorf("%d writes, want 1: nothing after the failure", len(w.sizes))
	}
}
