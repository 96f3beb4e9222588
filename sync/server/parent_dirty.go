package server

import (
	"errors"
	"net"

	"simplecloud/sync/dirty"
)

// The parent keeps a fanotify oracle of changed directories (sync/dirty)
// for as long as it serves: a connection child is stateless, but its sync
// sessions ask the parent, over a socket of their own (DirtyFD), which of
// the directories their last listing saw have changed since, and list the
// others' files from the scan index without a stat each. The parent marks
// only the file system of a root a child sends it and never opens a user's
// file; the child sends only handles of directories it has open, so it
// learns nothing of other users.

// openOracle starts the oracle, or returns nil when this system has none
// (no CAP_SYS_ADMIN, no fanotify): every listing then stats every file,
// as without it.
func (s *Server) openOracle() *dirty.Group {
	g, err := dirty.Open(0, s.log.With("component", "dirty"))
	if err != nil {
		s.log.Info("no changed-directory oracle: every listing stats every file", "err", err)
		return nil
	}
	return g
}

// serveDirty answers the requests of child c until its socket closes.
func (s *Server) serveDirty(c *child, addr string) {
	var o dirty.Oracle
	if s.oracle != nil {
		o = s.oracle
	}
	uc, ok := c.dirty.(*net.UnixConn)
	if !ok {
		return
	}
	if err := dirty.Serve(uc, o); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("connection child's oracle requests", "addr", addr, "pid", c.cmd.Process.Pid, "err", err)
		c.dirty.Close() // its sync sessions stat every file from now on
	}
}
