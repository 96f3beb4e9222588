package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"simplecloud/sync/proto"
)

// ErrClosed is returned for requests on a connection that is gone.
var ErrClosed = errors.New("sync connection closed")

// Stats counts bytes on the wire, both ways.
type Stats struct{ BytesSent, BytesReceived int64 }

// Client is one sync connection. Its methods are safe for concurrent use.
type Client struct {
	conn    *proto.Conn
	w       proto.Welcome
	rw      io.ReadWriteCloser
	sem     chan struct{}
	mu      sync.Mutex
	next    uint32
	waiting map[uint32]chan proto.Frame
	done    chan struct{}
	err     error
	sent    atomic.Int64
	recvd   atomic.Int64
	format  proto.Format // of List, Stat, Subscribe, Chunks (SetFormat)
}

// SetFormat sets the folder format that List, Stat, Subscribe and Chunks
// ask for: proto.FormatSealed for an encrypted folder. Set it before the
// first request.
func (c *Client) SetFormat(f proto.Format) { c.format = f }

// countingRW counts the bytes that pass.
type countingRW struct {
	rw   io.ReadWriter
	r, w *atomic.Int64
}

func (c countingRW) Read(p []byte) (int, error) {
	n, err := c.rw.Read(p)
	c.r.Add(int64(n))
	return n, err
}

func (c countingRW) Write(p []byte) (int, error) {
	n, err := c.rw.Write(p)
	c.w.Add(int64(n))
	return n, err
}

// WriteFile passes a file's bytes to rw if it takes them (see
// proto.FileWriter), and counts them.
func (c countingRW) WriteFile(f *os.File, at int64, n int) (int, error) {
	fw, ok := c.rw.(proto.FileWriter)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	k, err := fw.WriteFile(f, at, n)
	c.w.Add(int64(k))
	return k, err
}

// Dial does the handshake on rw and starts reading answers. A peer that
// does not speak the protocol (a shell printing a banner, an old server)
// or has no version in common is an error that says so.
func Dial(ctx context.Context, rw io.ReadWriteCloser, agent string) (*Client, error) {
	c := &Client{rw: rw, waiting: map[uint32]chan proto.Frame{}, done: make(chan struct{})}
	type result struct {
		conn *proto.Conn
		w    *proto.Welcome
		err  error
	}
	res := make(chan result, 1)
	go func() {
		conn, w, err := proto.Dial(countingRW{rw, &c.recvd, &c.sent},
			proto.Hello{Agent: agent, Caps: []string{proto.CapVersions, proto.CapFlush, proto.CapNodes, proto.CapSealed, proto.CapDigests, proto.CapUnhashed}})
		res <- result{conn, w, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			rw.Close()
			return nil, fmt.Errorf("connect to the sync server: %w", r.err)
		}
		c.conn, c.w = r.conn, *r.w
	case <-ctx.Done():
		rw.Close()
		return nil, fmt.Errorf("connect to the sync server: %w", ctx.Err())
	}
	n := int(c.w.MaxInflight)
	if n <= 0 || n > proto.MaxInflight {
		n = proto.MaxInflight
	}
	c.sem = make(chan struct{}, n)
	go c.readLoop()
	return c, nil
}

// Welcome returns the server's answer to the handshake.
func (c *Client) Welcome() proto.Welcome { return c.w }

// Done is closed when the connection is gone; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (nil while it is up).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Stats returns the bytes sent and received so far.
func (c *Client) Stats() Stats {
	return Stats{BytesSent: c.sent.Load(), BytesReceived: c.recvd.Load()}
}

// Close says Bye, closes the stream and waits for the reader.
func (c *Client) Close() error {
	c.conn.Send(0, true, &proto.Bye{})
	err := c.rw.Close()
	<-c.done
	return err
}

// readLoop hands every frame to the request waiting for it.
func (c *Client) readLoop() {
	var err error
	for {
		var f proto.Frame
		f, err = c.conn.Recv()
		if err != nil {
			break
		}
		c.mu.Lock()
		ch := c.waiting[f.ID]
		if f.Final {
			delete(c.waiting, f.ID)
		}
		c.mu.Unlock()
		if ch != nil {
			ch <- f // buffered; a request reads until its final frame
		}
	}
	if err == io.EOF {
		err = ErrClosed
	}
	c.mu.Lock()
	c.err = fmt.Errorf("sync connection: %w", err)
	for id, ch := range c.waiting {
		close(ch)
		delete(c.waiting, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// stream is one open request.
type stream struct {
	c  *Client
	id uint32
	in chan proto.Frame
}

// open starts a request: it waits for a free slot, takes an id and sends
// the first frame (final when the request has no more).
func (c *Client) open(ctx context.Context, m proto.Message, final bool) (*stream, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, c.err
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		<-c.sem
		return nil, c.err
	}
	for {
		c.next++
		if c.next != 0 && c.waiting[c.next] == nil {
			break
		}
	}
	s := &stream{c: c, id: c.next, in: make(chan proto.Frame, 64)}
	c.waiting[s.id] = s.in
	c.mu.Unlock()
	if err := c.conn.Send(s.id, final, m); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// send sends a further frame of the request.
func (s *stream) send(final bool, m proto.Message) error { return s.c.conn.Send(s.id, final, m) }

// sendFile sends n bytes of f from at as a Data frame for offset at (see
// proto.Conn.SendFile).
func (s *stream) sendFile(f *os.File, at int64, n int) error {
	return s.c.conn.SendFile(s.id, false, uint64(at), f, at, n)
}

// recv returns the next answer frame; a cancelled ctx sends Cancel and
// keeps waiting for the final answer, which the server owes.
func (s *stream) recv(ctx context.Context) (proto.Frame, error) {
	for {
		select {
		case f, ok := <-s.in:
			if !ok {
				return f, s.c.err
			}
			return f, nil
		case <-ctx.Done():
			s.c.conn.Send(s.id, true, &proto.Cancel{})
			ctx = context.Background()
		}
	}
}

// close frees the request's slot (after its final answer).
func (s *stream) close() {
	s.c.mu.Lock()
	delete(s.c.waiting, s.id)
	s.c.mu.Unlock()
	<-s.c.sem
}

// call sends a one-frame request and returns its final answer: a *Done,
// the result message, or the server's *proto.Error as an error.
func (c *Client) call(ctx context.Context, m proto.Message) (proto.Message, error) {
	s, err := c.open(ctx, m, true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	for {
		f, err := s.recv(ctx)
		if err != nil {
			return nil, err
		}
		if e, ok := f.Msg.(*proto.Error); ok {
			return nil, e
		}
		if f.Final {
			return f.Msg, nil
		}
	}
}
