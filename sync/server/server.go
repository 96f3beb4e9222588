package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Server is the root parent: it accepts connections, authenticates and
// starts a session child per SFTP channel. Create it with New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	auth      *authenticator
	sshCfg    *ssh.ServerConfig
	childArgv []string // argv prefix of the session child
	startups  chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]struct{} // every open connection, authenticated or not
	wg    sync.WaitGroup
}

// New builds a server from cfg (defaults applied), its host keys, and the
// command line that starts a session child (the binary and its hidden
// subcommand; the server appends --root, --umask and --user).
func New(cfg Config, keys []HostKey, session []string, accounts Accounts, log *slog.Logger) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(keys) == 0 || len(session) == 0 {
		return nil, errors.New("new server: need host keys and a session command")
	}
	log = log.With("component", "sshd")
	a := &authenticator{cfg: cfg, accounts: accounts, backoff: newBackoff(cfg.BackoffAfter, cfg.BackoffMax.Duration), log: log, now: time.Now}
	if cfg.PasswordAuth {
		pw, err := newPasswordChecker(PAMService)
		if err != nil {
			return nil, err
		}
		a.passwords, a.passwordDelay = pw, passwordFailDelay
	}
	return &Server{
		cfg: cfg, log: log, auth: a, sshCfg: a.serverConfig(keys), childArgv: session,
		startups: make(chan struct{}, cfg.MaxStartups), conns: map[net.Conn]struct{}{},
	}, nil
}

// Serve accepts connections on ln until ctx is cancelled. Then it stops
// accepting, lets open sessions finish for up to ShutdownTimeout, closes
// what is left and returns once every session child has been reaped.
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
		if d := s.auth.backoff.blocked(hostOf(nc.RemoteAddr())); d > 0 {
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

// shutdown waits for connections to end, then closes those left.
func (s *Server) shutdown() {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	s.log.Info("shutting down", "connections", n, "grace", s.cfg.ShutdownTimeout.Duration)
	select {
	case <-done:
		return
	case <-time.After(s.cfg.ShutdownTimeout.Duration):
	}
	s.mu.Lock()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	<-done
}

// conn is one authenticated connection.
type conn struct {
	sc       *ssh.ServerConn
	user     string
	log      *slog.Logger
	sessions atomic.Int32
	lastUse  atomic.Int64 // unix nanoseconds of the last channel traffic
	wg       sync.WaitGroup
}

func (c *conn) touch() { c.lastUse.Store(time.Now().UnixNano()) }

func (s *Server) handle(nc net.Conn) {
	s.mu.Lock()
	s.conns[nc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
	}()
	nc.SetDeadline(time.Now().Add(s.cfg.LoginGraceTime.Duration))
	sc, chans, reqs, err := ssh.NewServerConn(nc, s.sshCfg)
	<-s.startups
	if err != nil {
		s.log.Info("handshake failed", "addr", nc.RemoteAddr().String(), "err", err)
		return
	}
	nc.SetDeadline(time.Time{})
	c := &conn{sc: sc, user: sc.User(), log: s.log.With("user", sc.User(), "addr", nc.RemoteAddr().String())}
	c.touch()
	go ssh.DiscardRequests(reqs)
	done := make(chan struct{})
	defer close(done)
	go s.keepalive(c, done)
	for nch := range chans {
		s.channel(c, nch)
	}
	c.wg.Wait()
	c.log.Info("connection closed")
}

// keepalive sends keepalive requests and closes the connection when the
// client stops answering or, with an idle timeout, when no channel traffic
// has passed for that long.
func (s *Server) keepalive(c *conn, done <-chan struct{}) {
	t := time.NewTicker(s.cfg.KeepAlive.Duration)
	defer t.Stop()
	var missed atomic.Int32
	var pending atomic.Bool
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if idle := s.cfg.IdleTimeout.Duration; idle > 0 && time.Since(time.Unix(0, c.lastUse.Load())) > idle {
			c.log.Info("closing idle connection", "idle", idle)
			c.sc.Close()
			return
		}
		if pending.Load() {
			if missed.Add(1) >= int32(s.cfg.KeepAliveMax) {
				c.log.Info("closing unresponsive connection", "missed keepalives", missed.Load())
				c.sc.Close()
				return
			}
			continue
		}
		pending.Store(true)
		go func() {
			if _, _, err := c.sc.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				missed.Store(0)
			}
			pending.Store(false)
		}()
	}
}
