package remote

import (
	"context"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStartPipes runs cat as the transport: what is written comes back,
// Close ends it, and both pipes have pipeSize bytes of buffer.
func TestStartPipes(t *testing.T) {
	rw, err := Start(context.Background(), []string{"cat"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := rw.(*process)
	for name, f := range map[string]any{"stdin": p.WriteCloser, "stdout": p.Reader} {
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
