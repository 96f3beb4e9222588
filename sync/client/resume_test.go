package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/syncd"
	"simplecloud/sync/versions"
)

// cutConn closes its connection once limit bytes were written to it: a
// connection that drops in the middle of a transfer.
type cutConn struct {
	net.Conn
	mu   gosync.Mutex
	left int
}

func (c *cutConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		return 0, net.ErrClosed
	}
	if len(b) > c.left {
		n, _ := c.Conn.Write(b[:c.left])
		c.left = 0
		c.Conn.Close()
		return n, net.ErrClosed
	}
	c.left -= len(b)
	return c.Conn.Write(b)
}

// connect serves the pair's server root over a new net.Pipe (a new
// connection, as after a reconnect) whose client side drops after limit
// bytes (0: never).
func (p *pair) connect(limit int) {
	t := p.t
	root, err := rootfs.Open(p.server)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		syncd.Serve(context.Background(), b, root, syncd.Options{Epoch: 1, Umask: 0o022,
			Versions: versions.Open(root.Strict(), versions.DefaultPolicy(), nil)})
		b.Close()
		close(done)
	}()
	p.rc.Close() // the connection before, as after a drop
	var conn net.Conn = a
	if limit > 0 {
		conn = &cutConn{Conn: a, left: limit}
	}
	if p.rc, err = remote.Dial(context.Background(), conn, "test"); err != nil {
		t.Fatal(err)
	}
	rc := p.rc
	t.Cleanup(func() { rc.Close(); a.Close(); <-done; root.Close() })
}

// TestEngineUploadResumes drops the connection in the middle of a 24 MiB
// upload; the next run, on a new connection, sends only the rest.
func TestEngineUploadResumes(t *testing.T) {
	p := newPair(t)
	p.mustRun() // the folders exist, agreed empty
	data := make([]byte, 24<<20)
	rand.Read(data)
	write(t, filepath.Join(p.local, "big"), string(data))
	p.connect(16 << 20)
	if s, err := p.run(); err == nil && s.Converged {
		t.Fatalf("the cut connection's run converged: %+v", s)
	}
	p.connect(0)
	s := p.mustRun()
	got, err := os.ReadFile(filepath.Join(p.server, "Sync", "big"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the server's copy differs (%d bytes, %v)", len(got), err)
	}
	t.Logf("second run: %+v", s)
	if s.Uploaded != 1 || s.BytesSent > 10<<20 {
		t.Errorf("second run sent %d bytes, want the rest of the file only (under 10 MiB of 24)", s.BytesSent)
	}
}
