package remote

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
)

// TestStartPipes runs cat as the transport: what is written comes back,
// Close ends it, and both pipes have pipeSize bytes of buffer.
func TestStartPipes(t *testing.T) {
	rw, err := Start(context.Background(), []string{"cat"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := rw.(*process)
	for name, f := range map[string]any{"stdin": p.in, "stdout": p.Reader} {
		got, err := unix.FcntlInt(f.(*os.File).Fd(), unix.F_GETPIPE_SZ, 0)
		if err != nil || got != pipeSize {
			t.Errorf("%s pipe: got %d bytes (%v), want %d", name, got, err, pipeSize)
		}
	}
	if _, err := rw.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(rw, buf); err != nil || string(buf) != "hello\n" {
		t.Errorf("read back: got %q (%v), want %q", buf, err, "hello\n")
	}
	if err := rw.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestStartSplices writes a file's bytes into cat's stdin through the
// stream's proto.FileWriter, counted as sent by countingRW, and reads
// them back from its stdout.
func TestStartSplices(t *testing.T) {
	rw, err := Start(context.Background(), []string{"cat"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	want := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB, past the pipe's 1 MiB
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sent, recvd atomic.Int64
	fw, ok := any(countingRW{rw, &recvd, &sent}).(proto.FileWriter)
	if !ok {
		t.Fatal("the counted stream is no proto.FileWriter")
	}
	got := make(chan []byte)
	go func() {
		b := make([]byte, len(want)-100)
		io.ReadFull(rw, b)
		got <- b
	}()
	if n, err := fw.WriteFile(f, 100, len(want)-100); err != nil || n != len(want)-100 {
		t.Fatalf("write from the file: %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, want[100:]) {
		t.Errorf("cat gave back %d bytes, not the file's from 100", len(b))
	}
	if sent.Load() != int64(len(want)-100) {
		t.Errorf("counted %d bytes sent, want %d", sent.Load(), len(want)-100)
	}
}
