package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"simplecloud/sync/dirty"
	"simplecloud/sync/server/admit"
)

// Server is the root parent: it accepts connections, asks the admission
// policy (package admit) about each, and hands every one it takes to a
// connection child (ServeConn), whose reports and end it tells the policy.
// It never speaks SSH and never opens user files. Create it with New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	admit     *admit.Policy
	refusals  *refusalLog
	signers   []ssh.Signer // the host keys, which only the parent holds
	pubs      []string     // their public halves, for the children
	childArgv []string     // argv of the connection child
	oracle    *dirty.Group // changed directories (parent_dirty.go); nil without

	mu       sync.Mutex
	children map[*child]struct{} // every running connection child
	open     int                 // children whose control socket is open: live connections
	wg       sync.WaitGroup
}

// New builds a server from cfg (defaults applied), its host keys, and the
// command line that starts a connection child (the binary and its hidden
// subcommand, which calls ServeConn).
func New(cfg Config, keys []HostKey, conn []string, log *slog.Logger) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(keys) == 0 || len(conn) == 0 {
		return nil, errors.New("new server: need host keys and a connection command")
	}
	policy, err := newPolicy(cfg)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "sshd")
	s := &Server{
		cfg: cfg, log: log, admit: policy, refusals: newRefusalLog(log),
		childArgv: conn, children: map[*child]struct{}{},
	}
	for _, k := range keys {
		s.signers = append(s.signers, k.Signer)
		s.pubs = append(s.pubs, string(ssh.MarshalAuthorizedKey(k.Signer.PublicKey())))
	}
	return s, nil
}

// Serve accepts connections on ln until ctx is cancelled. Then it stops
// accepting, tells the connection children to drain, lets them run for up
// to ShutdownTimeout, kills what is left and returns once every child has
// been reaped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if s.oracle = s.openOracle(); s.oracle != nil {
		defer s.oracle.Close()
	}
	var err error
	for {
		var nc net.Conn
		nc, err = ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			// Out of descriptors and the like: wait a little, go on.
			s.log.Warn("accept", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		ac, err := s.admit.Admit(addrOf(nc.RemoteAddr()))
		if err != nil {
			s.refusals.refused(nc.RemoteAddr().String(), err)
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(nc, ac)
		}()
	}
	if ctx.Err() == nil {
		return fmt.Errorf("accept: %w", err)
	}
	s.shutdown()
	return nil
}

// shutdown tells the children to drain, waits for them to end, then kills
// those left.
func (s *Server) shutdown() {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	s.mu.Lock()
	n := s.open
	for c := range s.children {
		c.drain()
	}
	s.mu.Unlock()
	s.log.Info("shutting down", "connections", n, "grace", s.cfg.ShutdownTimeout)
	// The children close their connections when the grace time is up; a
	// second more lets them say goodbye before they are killed.
	select {
	case <-done:
		return
	case <-time.After(s.cfg.ShutdownTimeout + time.Second):
	}
	s.mu.Lock()
	for c := range s.children {
		c.kill()
	}
	s.mu.Unlock()
	<-done
}

// handle runs a connection child for nc and tells the admission policy
// what becomes of the connection until the child exits.
func (s *Server) handle(nc net.Conn, ac *admit.Conn) {
	addr := nc.RemoteAddr().String()
	c, err := startChild(s.childArgv, nc, connSetup{Config: s.cfg, HostKeys: s.pubs})
	nc.Close() // the child has its own copy
	if err != nil {
		ac.End(admit.Aborted)
		s.log.Error("start connection child", "addr", addr, "err", err)
		return
	}
	s.mu.Lock()
	s.children[c] = struct{}{}
	s.open++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.children, c)
		s.mu.Unlock()
	}()
	go func() {
		if err := serveSigns(c.sign, s.signers); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("connection child's signing requests", "addr", addr, "pid", c.cmd.Process.Pid, "err", err)
			c.sign.Close() // the child can no longer rekey: its connection ends
		}
	}()
	go s.serveDirty(c, addr)
	timedOut := follow(c.ctl, ac)
	// The child closes its end when its connection is over, a little
	// before it exits.
	s.mu.Lock()
	s.open--
	s.mu.Unlock()
	err = c.wait()
	how := admit.Closed
	switch {
	case c.killed.Load():
		how = admit.Aborted
	case c.crashed(err):
		how = admit.Crashed
		s.log.Warn("connection child crashed", "addr", addr, "pid", c.cmd.Process.Pid, "err", err)
	case timedOut:
		how = admit.TimedOut
	}
	if err != nil && how != admit.Crashed {
		s.log.Info("connection child ended", "addr", addr, "pid", c.cmd.Process.Pid, "err", err)
	}
	if p, ok := ac.End(how); ok {
		lvl := slog.LevelDebug
		if p.Activated {
			lvl = slog.LevelInfo
		}
		s.log.Log(context.Background(), lvl, "source penalised", "source", ac.Source().String(), "addr", addr,
			"penalty", p.Kind.String(), "added", p.Added, "refused", p.Activated, "for", p.Remaining.Round(time.Millisecond))
	}
}

// reportSink is what the parent tells of a connection child's reports:
// an *admit.Conn.
type reportSink interface {
	Failed(user string)
	Authenticated(user string)
}

// follow applies a connection child's reports from ctl to sink until ctl
// ends (the child exited), and says whether the child reported that the
// client ran out of time. Reports count only until the child reports the
// connection authenticated: after that the child runs as the user, who
// must not be able to clear or fill anyone's back-off through it. Reading
// on until the end keeps the control socket open, whose closing tells the
// child that the parent is gone.
func follow(ctl io.Reader, sink reportSink) (timedOut bool) {
	r := bufio.NewReaderSize(ctl, 256)
	defer io.Copy(io.Discard, r)
	for {
		kind, err := r.ReadByte()
		if err != nil {
			return timedOut
		}
		switch kind {
		case reportTimeout:
			timedOut = true
		case reportFail, reportAuth:
			n, err := r.ReadByte()
			if err != nil || n > maxReportUser {
				return timedOut // not from an honest child: nothing more counts
			}
			user := make([]byte, n)
			if _, err := io.ReadFull(r, user); err != nil {
				return timedOut
			}
			if kind == reportFail {
				sink.Failed(string(user))
				continue
			}
			sink.Authenticated(string(user))
			return false
		}
	}
}
