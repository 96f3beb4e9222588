package sftpd

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"simplecloud/sync/rootfs"
)

// testClient speaks to a session through the package's own codec.
type testClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	done chan error // Serve's result
	id   uint32
}

// startSession serves a temporary directory (returned) over a pipe and
// returns a client that has done INIT; the session ends at cleanup.
func startSession(t *testing.T, opts Options) (*testClient, string) {
	t.Helper()
	dir := t.TempDir()
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	c := &testClient{t: t, conn: a, r: bufio.NewReader(a), done: make(chan error, 1)}
	go func() {
		c.done <- Serve(b, root, opts, slog.New(slog.DiscardHandler))
		b.Close()
	}()
	t.Cleanup(func() {
		a.Close()
		<-c.done
		root.Close()
	})
	c.send(&Init{Version: 3})
	if v, ok := c.recv().(*Version); !ok || v.Version != 3 {
		t.Fatalf("init: got %#v, want VERSION 3", v)
	}
	return c, dir
}

// nextID returns a fresh request id.
func (c *testClient) nextID() uint32 {
	c.id++
	return c.id
}

func (c *testClient) send(p Packet) {
	c.t.Helper()
	c.sendRaw(AppendFrame(nil, p))
}

func (c *testClient) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *testClient) recv() Packet {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	pkt, err := ReadFrame(c.r, nil, MaxPacket+1024)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	p, err := Decode(pkt)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return p
}

// call sends p and returns its reply.
func (c *testClient) call(p Packet) Packet {
	c.t.Helper()
	c.send(p)
	return c.recv()
}

// status sends p and returns the code of its STATUS reply.
func (c *testClient) status(p Packet) uint32 {
	c.t.Helper()
	r := c.call(p)
	s, ok := r.(*Status)
	if !ok {
		c.t.Fatalf("%T: got %#v, want a STATUS", p, r)
	}
	return s.Code
}

// ok sends p and fails the test unless it answers SSH_FX_OK.
func (c *testClient) ok(p Packet) {
	c.t.Helper()
	if r := c.call(p); !isOK(r) {
		c.t.Fatalf("%T %+v: got %#v, want OK", p, p, r)
	}
}

func isOK(p Packet) bool {
	s, ok := p.(*Status)
	return ok && s.Code == StatusOK
}

// open opens path with pflags and attributes and returns the handle.
func (c *testClient) open(path string, pflags uint32, a Attrs) string {
	c.t.Helper()
	r := c.call(&Open{ID: c.nextID(), Path: path, PFlags: pflags, Attrs: a})
	h, ok := r.(*HandleReq)
	if !ok || h.T != TypeHandle {
		c.t.Fatalf("open %s: got %#v, want a HANDLE", path, r)
	}
	return h.Handle
}

// stat returns the attributes of path (STAT).
func (c *testClient) stat(path string) Attrs {
	c.t.Helper()
	r := c.call(&PathReq{T: TypeStat, ID: c.nextID(), Path: path})
	a, ok := r.(*AttrsReply)
	if !ok {
		c.t.Fatalf("stat %s: got %#v, want ATTRS", path, r)
	}
	return a.Attrs
}

// ext sends an extended request with the given payload.
func (c *testClient) ext(name string, data []byte) Packet {
	c.t.Helper()
	return c.call(&Extended{ID: c.nextID(), Name: name, Data: data})
}

// withUmask runs the test with process umask m.
func withUmask(t *testing.T, m int) {
	old := syscall.Umask(m)
	t.Cleanup(func() { syscall.Umask(old) })
}

// TestEndOfStream checks that Serve returns nil at a clean end and closes
// the handles left open.
func TestEndOfStream(t *testing.T) {
	c, dir := startSession(t, Options{})
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600)
	before := countFDs(t)
	c.open("/f", OpenRead, Attrs{})
	c.open("/f", OpenRead, Attrs{})
	if got := countFDs(t); got != before+2 {
		t.Fatalf("got %d descriptors open, want %d", got, before+2)
	}
	c.conn.Close()
	if err := <-c.done; err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
	c.done <- nil // for the cleanup
	if got := countFDs(t); got != before {
		t.Errorf("after the session: got %d descriptors open, want %d", got, before)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestProtocolErrors checks the answers to malformed and unknown requests
// and that an oversized frame ends the session with an error.
func TestProtocolErrors(t *testing.T) {
	c, _ := startSession(t, Options{})
	// OPEN cut short after its path: a request with an id, malformed.
	c.sendRaw([]byte("\x00\x00\x00\x0b\x03\x00\x00\x00\x07\x00\x00\x00\x02/a"))
	if s, ok := c.recv().(*Status); !ok || s.ID != 7 || s.Code != StatusBadMessage {
		t.Errorf("truncated OPEN: got %#v, want BAD_MESSAGE for id 7", s)
	}
	c.sendRaw([]byte("\x00\x00\x00\x09\x63\x00\x00\x00\x08abcd"))
	if s, ok := c.recv().(*Status); !ok || s.ID != 8 || s.Code != StatusOpUnsupported {
		t.Errorf("type 99: got %#v, want OP_UNSUPPORTED for id 8", s)
	}
	if r := c.ext("nosuch@example.com", nil); r.(*Status).Code != StatusOpUnsupported {
		t.Errorf("unknown extension: got %#v, want OP_UNSUPPORTED", r)
	}
	if r := c.ext(extHardlink, []byte("\x00\x00\x00\x09")); r.(*Status).Code != StatusBadMessage {
		t.Errorf("truncated hardlink: got %#v, want BAD_MESSAGE", r)
	}
	if r := c.call(&HandleReq{T: TypeFstat, ID: 9, Handle: "nope"}); r.(*Status).Code != StatusFailure {
		t.Errorf("fstat of an unknown handle: got %#v, want FAILURE", r)
	}
	c.sendRaw([]byte("\x00\x04\x01\x00\x06"))
	if err := <-c.done; !errors.Is(err, ErrBadPacket) {
		t.Errorf("oversized frame: got %v, want an error wrapping ErrBadPacket", err)
	}
	c.done <- nil
}

// TestVersion checks the extensions advertised.
func TestVersion(t *testing.T) {
	dir := t.TempDir()
	root, _ := rootfs.Open(dir)
	defer root.Close()
	a, b := net.Pipe()
	defer a.Close()
	go Serve(b, root, Options{}, slog.New(slog.DiscardHandler))
	a.Write(AppendFrame(nil, &Init{Version: 3}))
	pkt, err := ReadFrame(a, nil, MaxPacket)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Decode(pkt)
	got := map[string]string{}
	for _, e := range p.(*Version).Extensions {
		got[e.Name] = e.Data
	}
	want := map[string]string{
		"posix-rename@openssh.com": "1", "statvfs@openssh.com": "2", "fstatvfs@openssh.com": "2",
		"hardlink@openssh.com": "1", "fsync@openssh.com": "1", "lsetstat@openssh.com": "1",
		"limits@openssh.com": "1", "expand-path@openssh.com": "1", "copy-data": "1",
		"users-groups-by-id@openssh.com": "1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("extension %s: got version %q, want %q", k, got[k], v)
		}
	}
	b.Close()
	io.Copy(io.Discard, a)
}

// TestTrailingBytes checks that bytes after a request's last field are
// ignored, as OpenSSH's sftp-server ignores them (rclone 1.60 sends them
// after its WRITEs).
func TestTrailingBytes(t *testing.T) {
	c, dir := startSession(t, Options{})
	h := c.open("/f", OpenWrite|OpenCreat, Attrs{})
	w := AppendFrame(nil, &Write{ID: 77, Handle: h, Offset: 0, Data: []byte("abc")})
	w = append(w, "pad"...)
	w[3] += 3 // the frame's length covers the padding
	c.sendRaw(w)
	if s, ok := c.recv().(*Status); !ok || s.ID != 77 || s.Code != StatusOK {
		t.Errorf("padded WRITE: got %#v, want OK for id 77", s)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "abc" {
		t.Errorf("file: got %q, want %q", b, "abc")
	}
}
