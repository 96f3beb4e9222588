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
	p.connectWith(func(c net.Conn) net.Conn {
		if limit > 0 {
			return &cutConn{Conn: c, left: limit}
		}
		return c
	})
}

// connectWith serves the pair's server root over a new net.Pipe whose
// client side is wrap(its end).
func (p *pair) connectWith(wrap func(net.Conn) net.Conn) {
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
	if p.served != nil {
		// Its session ends first, as a dropped one does before the next
		// run (a run straight after would find its upload still held).
		<-p.served
	}
	p.served = done
	if p.rc, err = remote.Dial(context.Background(), wrap(a), "test"); err != nil {
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

// cutReads closes its connection once limit bytes were read from it: a
// connection that drops in the middle of a download.
type cutReads struct {
	net.Conn
	mu   gosync.Mutex
	left int
}

func (c *cutReads) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(b[:min(len(b), c.left)])
	c.left -= n
	return n, err
}

// TestEngineDownloadResumes drops the connection in the middle of a 24
// MiB download; the next run, on a new connection, reads only the rest,
// and the file is whole.
func TestEngineDownloadResumes(t *testing.T) {
	p := newPair(t)
	p.mustRun()
	data := make([]byte, 24<<20)
	rand.Read(data)
	write(t, filepath.Join(p.server, "Sync", "big"), string(data))
	p.connectWith(func(c net.Conn) net.Conn { return &cutReads{Conn: c, left: 16 << 20} })
	if s, err := p.run(); err == nil && s.Converged {
		t.Fatalf("the cut connection's run converged: %+v", s)
	}
	p.connect(0)
	s := p.mustRun()
	got, err := os.ReadFile(filepath.Join(p.local, "big"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the local copy differs (%d bytes, %v)", len(got), err)
	}
	t.Logf("second run: %+v", s)
	if s.Downloaded != 1 || s.BytesReceived > 10<<20 {
		t.Errorf("second run received %d bytes, want the rest of the file only (under 10 MiB of 24)", s.BytesReceived)
	}
	if ents, _ := os.ReadDir(filepath.Join(p.local, ".simplecloud", "tmp")); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}
