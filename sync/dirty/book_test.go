package dirty

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestBook(t *testing.T) {
	b := NewBook(7, 2)
	a, c := []byte("a"), []byte("c")
	s0 := b.Now()
	b.Touch(a)
	if got := b.Changed(s0, [][]byte{a, c}); !got[0] || got[1] {
		t.Fatalf("after touching a: %v", got)
	}
	s1 := b.Now()
	if got := b.Changed(s1, [][]byte{a, c}); got[0] || got[1] {
		t.Fatalf("nothing since: %v", got)
	}
	if got := b.Changed(Stamp{Epoch: 8, Gen: s1.Gen}, [][]byte{c}); !got[0] {
		t.Fatal("another epoch is clean")
	}
	if got := b.Changed(Stamp{Epoch: 7, Gen: s1.Gen + 5}, [][]byte{c}); !got[0] {
		t.Fatal("a stamp from the future is clean")
	}
	b.Touch(c)
	b.Touch([]byte("third")) // past the cap of 2: a loss
	if got := b.Changed(s1, [][]byte{[]byte("other")}); !got[0] {
		t.Fatal("past the cap, an untouched directory is clean")
	}
	s2 := b.Now()
	if got := b.Changed(s2, [][]byte{a}); got[0] {
		t.Fatal("after the loss, a new stamp still sees changes")
	}
	b.Suspect([]byte("x"))
	b.Named([]byte("y"))
	if got := b.Changed(s2, [][]byte{a}); got[0] {
		t.Fatal("another file's creation counted as a link")
	}
	b.Named([]byte("x"))
	if got := b.Changed(s2, [][]byte{a}); !got[0] {
		t.Fatal("a suspect created again is not a loss")
	}
}

// TestParseMalformed feeds the event parser damaged input: a loss, never
// a panic.
func TestParseMalformed(t *testing.T) {
	for _, b := range [][]byte{
		{1, 2, 3},
		make([]byte, metaLen),
		append(binary.NativeEndian.AppendUint32(nil, 100), make([]byte, 20)...),
	} {
		book := NewBook(1, 0)
		s := book.Now()
		parse(b, book)
		if got := book.Changed(s, [][]byte{{1}}); !got[0] {
			t.Errorf("%v: parsed without a loss", b)
		}
	}
}

// fakeOracle is a Group stand-in for Serve.
type fakeOracle struct{ marked int }

func (f *fakeOracle) Mark(fd int) ([2]int32, error) { f.marked++; return [2]int32{1, 2}, nil }
func (f *fakeOracle) Changed(since Stamp, fsid [2]int32, handles [][]byte) (Stamp, []bool) {
	out := make([]bool, len(handles))
	for i, h := range handles {
		out[i] = h[len(h)-1]%2 == 1
	}
	return Stamp{Epoch: 9, Gen: 10}, out
}

func pair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cs [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c.(*net.UnixConn)
	}
	t.Cleanup(func() { cs[0].Close(); cs[1].Close() })
	return cs[0], cs[1]
}

func TestClientServe(t *testing.T) {
	mine, theirs := pair(t)
	f := &fakeOracle{}
	done := make(chan error, 1)
	go func() { done <- Serve(theirs, f) }()
	c := NewClient(mine)
	if _, _, err := c.Changed(Stamp{}, nil); err == nil {
		t.Fatal("a query before a mark was answered")
	}
	if err := c.Mark(0); err != nil {
		t.Fatal(err)
	}
	hs := make([][]byte, MaxQuery+3)
	for i := range hs {
		hs[i] = []byte{1, 0, 0, 0, byte(i)}
	}
	now, bits, err := c.Changed(Stamp{Epoch: 9, Gen: 1}, hs)
	if err != nil || now != (Stamp{Epoch: 9, Gen: 10}) || len(bits) != len(hs) {
		t.Fatalf("answer %+v, %d bits, %v", now, len(bits), err)
	}
	for i, v := range bits {
		if v != (i%2 == 1) {
			t.Fatalf("bit %d = %v", i, v)
		}
	}
	mine.Close()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// FuzzServe sends arbitrary bytes as a child would: Serve answers or
// ends with an error, never panics or hangs.
func FuzzServe(f *testing.F) {
	f.Add([]byte{opQuery, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 1, 0, 0, 0, 7})
	f.Add([]byte{opMark})
	f.Add([]byte{'X'})
	f.Add([]byte{opQuery, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		mine, theirs := pair(t)
		done := make(chan error, 1)
		go func() { done <- Serve(theirs, &fakeOracle{}) }()
		go func() {
			mine.Write(in)
			mine.CloseWrite()
		}()
		var out bytes.Buffer
		go out.ReadFrom(mine)
		<-done
	})
}
