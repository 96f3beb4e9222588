package server

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/crypto/ssh"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Server is the root parent: it accepts connections, refuses addresses in
// back-off and connections beyond MaxStartups, and hands every other
// connection to a connection child (ServeConn). It never speaks SSH and
// never opens user files. Create it with New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	backoff   *backoff
	signers   []ssh.Signer // the host keys, which only the parent holds
	pubs      []string     // their public halves, for the children
	childArgv []string     // argv of the connection child
	startups  chan struct{}

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
	s := &Server{
		cfg: cfg, log: log.With("component", "sshd"), backoff: newBackoff(cfg.BackoffAfter, cfg.BackoffMax.Duration),
		childArgv: conn, startups: make(chan struct{}, cfg.MaxStartups), children: map[*child]struct{}{},
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
		if d := s.backoff.blocked(hostOf(nc.RemoteAddr())); d > 0 {
			s.log.Info("connection refused", "addr", nc.RemoteAddr().String(), "reason", "back-off", "for", d.Round(time.Second))
			nc.Close()
			continue
		}
		select {
		case s.startups <- struct{}{}:
		default:
			s.log.Warn("connection refused", "addr", nc.RemoteAddr().String(), "reason", "too many unauthenticated connections")
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(nc)
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
	s.log.Info("shutting down", "connections", n, "grace", s.cfg.ShutdownTimeout.Duration)
	// The children close their connections when the grace time is up; a
	// second more lets them say goodbye before they are killed.
	select {
	case <-done:
		return
	case <-time.After(s.cfg.ShutdownTimeout.Duration + time.Second):
	}
	s.mu.Lock()
	for c := range s.children {
		c.cmd.Process.Kill()
	}
	s.mu.Unlock()
	<-done
}

// handle runs a connection child for nc and applies its reports to the
// back-off table until it exits.
func (s *Server) handle(nc net.Conn) {
	host, addr := hostOf(nc.RemoteAddr()), nc.RemoteAddr().String()
	var once sync.Once
	release := func() { once.Do(func() { <-s.startups }) }
	defer release()
	c, err := startChild(s.childArgv, nc, connSetup{Config: s.cfg, HostKeys: s.pubs})
	nc.Close() // the child has its own copy
	if err != nil {
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
	follow(c.ctl, s.backoff, host, release)
	// The child closes its end when its connection is over, a little
	// before it exits.
	s.mu.Lock()
	s.open--
	s.mu.Unlock()
	if err := c.wait(); err != nil {
		s.log.Info("connection child ended", "addr", addr, "pid", c.cmd.Process.Pid, "err", err)
	}
}

// follow applies a connection child's reports from ctl to the back-off
// table for host until ctl ends (the child exited); authed runs when the
// child reports the connection authenticated. Reports count only until
// then: after that the child runs as the user, who must not be able to
// clear or fill anyone's back-off through it. Reading on until the end
// keeps the control socket open, whose closing tells the child that the
// parent is gone.
func follow(ctl io.Reader, b *backoff, host string, authed func()) {
	done := false
	buf := make([]byte, 64)
	for {
		n, err := ctl.Read(buf)
		for _, r := range buf[:n] {
			switch {
			case done:
			case r == reportFail:
				b.fail(host)
			case r == reportAuth:
				done = true
				b.succeed(host)
				authed()
			}
		}
		if err != nil {
			return
		}
	}
}
