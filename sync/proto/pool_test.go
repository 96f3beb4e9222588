package proto

import (
	"bytes"
	"net"
	"testing"
)

// TestDataRelease: a large received Data released gives its buffer to a
// later frame, whose bytes are its own; a small one and a Data made by
// the caller are left alone.
func TestDataRelease(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ca, cb := newConn(a), newConn(b)
	const rounds = 20
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, MaxData) }
	go func() {
		for i := range rounds {
			ca.Send(1, false, &Data{Offset: uint64(i), Bytes: payload(i)})
		}
		ca.Send(1, true, &Data{Offset: 7, Bytes: []byte("small")})
	}()
	reused := 0
	var last *byte
	for i := range rounds {
		f, err := cb.Recv()
		if err != nil {
			t.Fatal(err)
		}
		d := f.Msg.(*Data)
		if d.Offset != uint64(i) || !bytes.Equal(d.Bytes, payload(i)) {
			t.Fatalf("frame %d: offset %d, bytes not the ones sent", i, d.Offset)
		}
		if &d.Bytes[0] == last {
			reused++
		}
		last = &d.Bytes[0]
		d.Release()
		if d.Bytes != nil {
			t.Fatal("a released Data keeps its Bytes")
		}
	}
	if reused == 0 {
		t.Errorf("no buffer reused in %d frames", rounds)
	}
	f, err := cb.Recv()
	if err != nil {
		t.Fatal(err)
	}
	small := f.Msg.(*Data)
	small.Release()
	if string(small.Bytes) != "small" {
		t.Errorf("a small Data lost its bytes on Release: %q", small.Bytes)
	}
	mine := &Data{Bytes: []byte("mine")}
	mine.Release()
	if string(mine.Bytes) != "mine" {
		t.Error("Release took the bytes of a Data that was not received")
	}
}
