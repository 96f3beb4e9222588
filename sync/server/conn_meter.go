package server

import (
	"net"
	"sync/atomic"
	"time"

	"simplecloud/internal/gcfloor"
)

// The floor under the collector while a client streams to the connection
// child (gcfloor.Meter): the same headroom as a direct upload's
// (sync/syncd), started by a stream of at least streamRate a second.
// A first sync of small files arrives at about 100 MiB/s here; a tree of
// tiny files (the memory row of make bench) at a few MiB/s, and its peak
// memory per file is what it was without a meter (249 / 152 B).
const (
	streamHeadroom = 64 << 20
	streamRate     = 16 << 20
	streamPeriod   = time.Second
)

// meteredConn counts the bytes a client sends, once metering starts
// (after login: a client that has not logged in gets no floor).
type meteredConn struct {
	net.Conn
	m atomic.Pointer[gcfloor.Meter]
}

func (c *meteredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if m := c.m.Load(); m != nil && n > 0 {
		m.Add(n)
	}
	return n, err
}

// startMeter starts metering c; the returned stop releases the floor.
func (c *meteredConn) startMeter() (stop func()) {
	m := gcfloor.NewMeter(streamHeadroom, streamRate, streamPeriod)
	c.m.Store(m)
	return m.Close
}
