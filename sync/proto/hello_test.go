package proto

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

type result struct {
	err  error
	conn *Conn
}

// handshake runs Dial(hello) and Accept(welcome) against each other.
func handshake(t *testing.T, hello Hello, welcome Welcome) (client, server result, w *Welcome, h *Hello) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		server.conn, h, server.err = Accept(b, welcome)
		if server.err != nil {
			b.Close()
		}
	}()
	client.conn, w, client.err = Dial(a, hello)
	<-done
	return client, server, w, h
}

func TestHandshake(t *testing.T) {
	c, s, w, h := handshake(t, Hello{Caps: []string{CapSealed}, Agent: "client"},
		Welcome{Caps: []string{CapSealed, CapVersions}, Epoch: 7})
	if c.err != nil || s.err != nil {
		t.Fatalf("handshake: client %v, server %v", c.err, s.err)
	}
	if w.Version != Version1 || c.conn.Version != Version1 || s.conn.Version != Version1 {
		t.Errorf("version: got welcome %d, conns %d %d, want %d", w.Version, c.conn.Version, s.conn.Version, Version1)
	}
	if len(w.Caps) != 1 || w.Caps[0] != CapSealed || w.Epoch != 7 || w.MaxInflight != MaxInflight {
		t.Errorf("welcome: got %+v, want caps [sealed], epoch 7, max inflight %d", w, MaxInflight)
	}
	if h.Agent != "client" {
		t.Errorf("hello agent: got %q, want client", h.Agent)
	}
	// The connection works after the handshake, in both directions.
	go c.conn.Send(5, true, &List{Path: "x"})
	f, err := s.conn.Recv()
	if err != nil || f.ID != 5 || f.Msg.(*List).Path != "x" {
		t.Errorf("first request: got %+v, %v", f, err)
	}
}

// TestHandshakeUnknownVersion: a client that speaks only a future version
// gets a clear error, and so does the server.
func TestHandshakeUnknownVersion(t *testing.T) {
	c, s, _, _ := handshake(t, Hello{Versions: []uint32{2, 3}}, Welcome{})
	for side, err := range map[string]error{"client": c.err, "server": s.err} {
		var ve *VersionError
		if !errors.As(err, &ve) || !errors.Is(err, ErrVersion) {
			t.Errorf("%s: got %v, want a *VersionError", side, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"client speaks version [2 3]", "server [1]", "upgrade simplecloud on the server"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: got %q, want it to contain %q", side, msg, want)
			}
		}
	}
}

// TestHandshakeNotAPeer: a stream that is not the protocol (a shell's
// greeting) is named in the error, not read as a frame length.
func TestHandshakeNotAPeer(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go io.Copy(io.Discard, b)
	go io.WriteString(b, "Welcome to Debian GNU/Linux\n")
	_, _, err := Dial(a, Hello{})
	if !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), `"Welcome "`) {
		t.Errorf("got %v, want ErrFrame quoting the server's bytes", err)
	}
}

func TestAcceptNotHello(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		io.WriteString(a, Magic)
		newConn(a).Send(3, true, &List{})
		io.Copy(io.Discard, a)
	}()
	_, _, err := Accept(b, Welcome{})
	if !errors.Is(err, ErrFrame) || !strings.Contains(err.Error(), "not hello") {
		t.Errorf("got %v, want ErrFrame saying the client did not begin with hello", err)
	}
}
