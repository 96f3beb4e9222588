package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// slowWriter records each write and takes a while over it, so that
// concurrent senders pile up behind it.
type slowWriter struct {
	mu     sync.Mutex
	buf    []byte
	writes int
	fail   error
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(200 * time.Microsecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return 0, w.fail
	}
	w.writes++
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// TestSendCoalesces: frames of concurrent senders all arrive whole, each
// sender's in the order it sent them, in fewer writes than frames.
func TestSendCoalesces(t *testing.T) {
	w := &slowWriter{}
	c := newConn(struct {
		io.Reader
		io.Writer
	}{nil, w})
	const senders, each = 64, 20
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				m := &Data{Offset: uint64(i), Bytes: []byte(fmt.Sprintf("sender %d frame %d", s, i))}
				if err := c.Send(uint32(s+1), i == each-1, m); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	r := newConn(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(w.buf), io.Discard})
	next := map[uint32]uint64{}
	for range senders * each {
		f, err := r.Recv()
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		d := f.Msg.(*Data)
		want := fmt.Sprintf("sender %d frame %d", f.ID-1, next[f.ID])
		if d.Offset != next[f.ID] || string(d.Bytes) != want {
			t.Fatalf("id %d: got frame %d %q, want %d %q", f.ID, d.Offset, d.Bytes, next[f.ID], want)
		}
		next[f.ID]++
	}
	if _, err := r.Recv(); err != io.EOF {
		t.Errorf("after every frame: got %v, want EOF", err)
	}
	if w.writes >= senders*each/2 {
		t.Errorf("%d frames took %d writes, want them coalesced", senders*each, w.writes)
	}
}

// TestSendError: a failed write fails the Send whose frame it carried and
// every Send after it.
func TestSendError(t *testing.T) {
	broken := errors.New("pipe broke")
	w := &slowWriter{fail: broken}
	c := newConn(struct {
		io.Reader
		io.Writer
	}{nil, w})
	var wg sync.WaitGroup
	for s := range 16 {
		wg.Go(func() {
			if err := c.Send(uint32(s+1), true, &Done{}); !errors.Is(err, broken) {
				t.Errorf("send during the failure: got %v, want %v", err, broken)
			}
		})
	}
	wg.Wait()
	if err := c.Send(99, true, &Done{}); !errors.Is(err, broken) {
		t.Errorf("send after the failure: got %v, want %v", err, broken)
	}
}
