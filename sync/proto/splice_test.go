package proto

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// randomFile writes n random bytes to a new file and returns it open, with
// its bytes.
func randomFile(t *testing.T, n int) (*os.File, []byte) {
	t.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, b
}

// drainedPipe returns a pipe whose read end is read to its end into the
// buffer the returned function gives once the write end is closed.
func drainedPipe(t *testing.T) (*os.File, func() []byte) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&buf, r)
	}()
	return w, func() []byte {
		w.Close()
		<-done
		return buf.Bytes()
	}
}

// TestSpliceFile splices ranges of a file into a pipe (more than the
// pipe holds, so it waits for the reader), one that runs past the file's
// end (short, io.ErrUnexpectedEOF) and one into a file that is not a pipe
// (errors.ErrUnsupported, nothing written).
func TestSpliceFile(t *testing.T) {
	f, want := randomFile(t, 3<<20)
	w, got := drainedPipe(t)
	n, err := SpliceFile(w, f, 1000, len(want)-2000)
	if err != nil || n != len(want)-2000 {
		t.Fatalf("splice of %d bytes: %d, %v", len(want)-2000, n, err)
	}
	n, err = SpliceFile(w, f, int64(len(want)-100), 1000)
	if n != 100 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("splice of 1000 bytes with 100 left: %d, %v; want 100, io.ErrUnexpectedEOF", n, err)
	}
	if b := got(); !bytes.Equal(b, append(want[1000:len(want)-1000:len(want)-1000], want[len(want)-100:]...)) {
		t.Fatalf("the pipe got %d bytes, not the file's ranges", len(b))
	}
	notPipe, err := os.Create(filepath.Join(t.TempDir(), "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer notPipe.Close()
	if n, err := SpliceFile(notPipe, f, 0, 4096); n != 0 || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("splice into a regular file: %d, %v; want 0, errors.ErrUnsupported", n, err)
	}
	if st, _ := notPipe.Stat(); st.Size() != 0 {
		t.Errorf("splice into a regular file wrote %d bytes", st.Size())
	}
}

// pipeStream is a stream that is a pipe and splices files into it.
type pipeStream struct{ *os.File }

func (p pipeStream) WriteFile(f *os.File, at int64, n int) (int, error) {
	return SpliceFile(p.File, f, at, n)
}

// fileStream is a stream and its FileWriter.
type fileStream struct {
	io.Reader
	io.Writer
	FileWriter
}

// unableStream is a FileWriter that cannot (errors.ErrUnsupported).
type unableStream struct {
	io.Writer
	asked int
}

func (u *unableStream) WriteFile(*os.File, int64, int) (int, error) {
	u.asked++
	return 0, errors.ErrUnsupported
}

// TestSendFile sends Data frames from a file, one running past its end,
// while another goroutine sends frames of its own, over a pipe that
// splices, a stream that takes no file and a FileWriter that cannot: every
// frame arrives whole and in its sender's order, the file's frames with
// its bytes, the short one padded with zeros and reported as ErrShortFile.
func TestSendFile(t *testing.T) {
	const size = 1<<20 + 12345
	f, want := randomFile(t, size)
	for _, kind := range []string{"pipe", "plain", "unable"} {
		t.Run(kind, func(t *testing.T) {
			var c *Conn
			var got func() []byte
			var unable *unableStream
			switch kind {
			case "pipe":
				w, g := drainedPipe(t)
				c, got = newConn(fileStream{strings.NewReader(""), w, pipeStream{w}}), g
			case "plain":
				var buf bytes.Buffer
				c, got = sendOnly(&buf), buf.Bytes
			case "unable":
				var buf bytes.Buffer
				unable = &unableStream{Writer: &buf}
				c, got = newConn(fileStream{strings.NewReader(""), unable, unable}), buf.Bytes
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					if err := c.Send(2, false, &Data{Offset: uint64(i), Bytes: []byte{byte(i)}}); err != nil {
						t.Errorf("send: %v", err)
						return
					}
				}
			}()
			for off := 0; off < size; off += MaxData {
				n := min(MaxData, size-off)
				if err := c.SendFile(1, false, uint64(off), f, int64(off), n); err != nil {
					t.Fatalf("send %d bytes from %d: %v", n, off, err)
				}
			}
			err := c.SendFile(1, true, size-10, f, size-10, 100)
			if !errors.Is(err, ErrShortFile) {
				t.Errorf("send of 100 bytes with 10 left: %v, want ErrShortFile", err)
			}
			wg.Wait()
			if kind == "pipe" && (c.q.fw == nil || c.q.noFileWriter) {
				t.Errorf("the pipe was not spliced into")
			}
			if unable != nil && unable.asked != 1 {
				t.Errorf("a FileWriter that cannot was asked %d times, want once", unable.asked)
			}
			r := newConn(struct {
				io.Reader
				io.Writer
			}{bytes.NewReader(got()), io.Discard})
			var file []byte
			next := 0
			for {
				fr, err := r.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("recv: %v", err)
				}
				d := fr.Msg.(*Data)
				if fr.ID == 2 {
					if d.Offset != uint64(next) || !bytes.Equal(d.Bytes, []byte{byte(next)}) {
						t.Fatalf("frame %d of the other sender: offset %d, %v", next, d.Offset, d.Bytes)
					}
					next++
					continue
				}
				if d.Offset != uint64(len(file)) && !fr.Final {
					t.Fatalf("file frame at %d, want %d", d.Offset, len(file))
				}
				file = append(file, d.Bytes...)
			}
			if next != 200 {
				t.Errorf("got %d frames of the other sender, want 200", next)
			}
			wantAll := append(append([]byte(nil), want...), want[size-10:]...)
			wantAll = append(wantAll, make([]byte, 90)...)
			if !bytes.Equal(file, wantAll) {
				t.Errorf("the file's frames carried %d bytes, not the file's %d and the padded short frame", len(file), size)
			}
		})
	}
}

// TestSendFileBrokenPipe: a stream whose reader is gone (ssh exited) is a
// stream error for SendFile, not a short file, and for every send after.
func TestSendFileBrokenPipe(t *testing.T) {
	f, _ := randomFile(t, 1<<20)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	c := newConn(fileStream{strings.NewReader(""), w, pipeStream{w}})
	err = c.SendFile(1, false, 0, f, 0, MaxData)
	if err == nil || errors.Is(err, ErrShortFile) {
		t.Fatalf("send into a pipe without a reader: %v, want a stream error", err)
	}
	if err := c.Send(1, true, &Bye{}); err == nil {
		t.Error("a send after the stream broke succeeded")
	}
}
