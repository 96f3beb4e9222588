package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrClosed is returned for requests pending when the channel closes.
var ErrClosed = errors.New("guest agent channel closed")

// Client is the host side of the channel. Its methods are safe for
// concurrent use.
type Client struct {
	mu      sync.Mutex
	w       io.Writer
	next    uint64
	pending map[uint64]chan Response
	ready   chan Response
	err     error // set once the reader stops
}

// NewClient starts reading answers from rw. Close rw to stop it.
func NewClient(rw io.ReadWriter) *Client {
	c := &Client{w: rw, pending: map[uint64]chan Response{}, ready: make(chan Response, 1)}
	go c.read(rw)
	return c
}

func (c *Client) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var err error
	for sc.Scan() {
		var resp Response
		if err = json.Unmarshal(sc.Bytes(), &resp); err != nil {
			// Noise before the agent starts (a line of boot garbage) is skipped.
			continue
		}
		if resp.Op == OpReady {
			select {
			case c.ready <- resp:
			default:
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
	err = sc.Err()
	if err == nil {
		err = ErrClosed
	}
	c.mu.Lock()
	c.err = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.ready)
}

// WaitReady waits for the guest's hello and returns it.
func (c *Client) WaitReady(ctx context.Context) (Response, error) {
	select {
	case r, ok := <-c.ready:
		if !ok {
			return Response{}, fmt.Errorf("wait for guest agent: %w", c.closedErr())
		}
		return r, nil
	case <-ctx.Done():
		return Response{}, fmt.Errorf("wait for guest agent: %w", ctx.Err())
	}
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return ErrClosed
}

// Send sends req with a fresh ID and returns the ID and a channel that
// receives the answer, or is closed if the channel dies first.
func (c *Client) Send(req Request) (uint64, <-chan Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	c.next++
	req.ID = c.next
	b, err := json.Marshal(&req)
	if err != nil {
		return 0, nil, fmt.Errorf("encode request: %w", err)
	}
	ch := make(chan Response, 1)
	c.pending[req.ID] = ch
	if _, err := c.w.Write(append(b, '\n')); err != nil {
		delete(c.pending, req.ID)
		return 0, nil, fmt.Errorf("send request to guest: %w", err)
	}
	return req.ID, ch, nil
}

// Wait waits for the answer on ch.
func (c *Client) Wait(ctx context.Context, ch <-chan Response) (Response, error) {
	select {
	case r, ok := <-ch:
		if !ok {
			return Response{}, c.closedErr()
		}
		return r, nil
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
}
