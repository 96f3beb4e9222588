package vm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// console keeps everything the guest printed on its serial console and lets
// callers wait for text in it.
type console struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	cursor int           // Expect searches from here
	change chan struct{} // closed and replaced on every write
	closed bool
	tee    io.Writer
}

func newConsole(tee io.Writer) *console {
	return &console{change: make(chan struct{}), tee: tee}
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.tee != nil {
		c.tee.Write(p)
	}
	close(c.change)
	c.change = make(chan struct{})
	return len(p), nil
}

// close marks the end of output (the guest is gone).
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.change)
	}
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// tail returns about the last n bytes of output, for error messages.
func (c *console) tail(n int) string {
	s := c.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

// expect waits until s appears after the cursor, then moves the cursor past it.
func (c *console) expect(ctx context.Context, s string) error {
	for {
		c.mu.Lock()
		b := c.buf.Bytes()[c.cursor:]
		if i := bytes.Index(b, []byte(s)); i >= 0 {
			c.cursor += i + len(s)
			c.mu.Unlock()
			return nil
		}
		ch, closed := c.change, c.closed
		c.mu.Unlock()
		if closed {
			return fmt.Errorf("expect %q on console: the guest is gone; console ends with:\n%s", s, c.tail(2000))
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("expect %q on console: %w; console ends with:\n%s", s, ctx.Err(), c.tail(2000))
		}
	}
}
