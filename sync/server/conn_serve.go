package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"simplecloud/sync/dirty"
)

// connServer is a connection child: it does one connection's handshake and
// authentication as root, then becomes the user for good and serves the
// connection's sessions in-process.
type connServer struct {
	cfg  Config
	log  *slog.Logger
	auth *authenticator
	ssh  *ssh.ServerConfig
	nc   net.Conn
	ctl  ctlEvents
	// oracle asks the parent which directories changed (parent_dirty.go),
	// for sync sessions.
	oracle *dirty.Client
	// metered is the connection as the ssh package reads it.
	metered *meteredConn

	mu      sync.Mutex
	sc      *ssh.ServerConn // set once authenticated
	drain   bool            // the parent is shutting down
	closed  bool            // the connection is being closed
	timer   *time.Timer     // closes the connection when the client takes too long
	expired string          // the limit that ran out, if one did
}

// conn is one authenticated connection.
type conn struct {
	sc       *ssh.ServerConn
	user     string
	root     string // the directory the user sees as "/"
	log      *slog.Logger
	sessions atomic.Int32
	lastUse  atomic.Int64 // unix nanoseconds of the last channel traffic
	wg       sync.WaitGroup
	pam      pamLogin // the login's PAM transaction (use_pam), or nil
}

func (c *conn) touch() { c.lastUse.Store(time.Now().UnixNano()) }

// ServeConn is the body of a connection child, which the parent starts as
// root for every accepted connection: nc is the client's connection, ctl
// the control socket to the parent, sign and dirtyConn the sockets to ask
// it for host key signatures and changed directories, and setup the
// parent's connSetup (its stdin). It authenticates the client, drops to
// the user's uid, gid and groups on every thread (refusing the connection
// if that fails in any way), and serves its SFTP and sync sessions until
// the connection ends.
func ServeConn(nc, ctl, sign, dirtyConn net.Conn, setup io.Reader, accounts Accounts, log *slog.Logger) error {
	var st connSetup
	if err := json.NewDecoder(setup).Decode(&st); err != nil {
		return fmt.Errorf("read connection setup: %w", err)
	}
	cfg := st.Config.Defaults()
	signers, err := remoteSigners(st.HostKeys, sign)
	if err != nil {
		return err
	}
	var keys []HostKey
	for _, k := range signers {
		keys = append(keys, HostKey{Signer: k})
	}
	log = log.With("component", "sshd")
	events := ctlEvents{ctl}
	a := &authenticator{cfg: cfg, accounts: accounts, backoff: events, log: log, now: time.Now}
	if *cfg.UsePAM {
		if a.pam, err = newAccountChecker(cfg.PAMService); err != nil {
			return err
		}
	}
	if cfg.PasswordAuth {
		pw, err := newPasswordChecker(cfg.PAMService)
		if err != nil {
			return err
		}
		a.passwords, a.passwordDelay = pw, passwordFailDelay
	}
	s := &connServer{cfg: cfg, log: log, auth: a, ssh: a.serverConfig(keys), nc: nc, ctl: events}
	if uc, ok := dirtyConn.(*net.UnixConn); ok {
		s.oracle = dirty.NewClient(uc)
	}
	go s.control(ctl)
	return runConn(s.serve)
}

// control follows the parent: a drain request lets the sessions finish
// (for up to ShutdownTimeout); the parent's end closing ends the
// connection at once. SIGTERM drains too: systemd sends it to every
// process of the service, not just the parent.
func (s *connServer) control(ctl net.Conn) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		for range sig {
			s.startDrain()
		}
	}()
	b := make([]byte, 1)
	for {
		if _, err := ctl.Read(b); err != nil {
			s.log.Debug("parent gone: closing the connection")
			s.close()
			return
		}
		if b[0] == ctlDrain {
			s.startDrain()
		}
	}
}

// startDrain closes the connection at once when it is not authenticated
// yet, else after ShutdownTimeout.
func (s *connServer) startDrain() {
	s.mu.Lock()
	first := !s.drain
	s.drain = true
	authed := s.sc != nil
	s.mu.Unlock()
	switch {
	case !first:
	case !authed:
		s.close()
	default:
		time.AfterFunc(s.cfg.ShutdownTimeout, s.close)
	}
}

// close closes the connection.
func (s *connServer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.sc != nil {
		s.sc.Close()
	}
	s.nc.Close()
}

// serve runs the connection.
func (s *connServer) serve() error {
	addr := s.nc.RemoteAddr().String()
	sc, chans, reqs, err := s.handshake()
	login := s.auth.takeLogin()
	if err != nil {
		endLogin(login, s.log)
		expired := s.stopLimit()
		var bad *identError
		switch {
		case expired != "":
			s.log.Info("connection closed", "addr", addr, "reason", expired+" exceeded before authentication")
			s.ctl.timedOut()
		case errors.As(err, &bad):
			s.log.Info("connection refused", "addr", addr, "reason", bad.Error())
		default:
			s.log.Info("handshake failed", "addr", addr, "err", err)
		}
		s.nc.Close()
		return nil
	}
	s.mu.Lock()
	s.sc = sc
	gone := s.closed || s.drain
	s.mu.Unlock()
	if gone {
		endLogin(login, s.log)
		sc.Close()
		return nil
	}
	c := &conn{sc: sc, user: sc.User(), log: s.log.With("user", sc.User(), "addr", addr), pam: login}
	// The PAM session ends when the connection does. This runs as the
	// user, after the drop, not as root: modules that need root to close
	// a session may fail, which is logged at debug. sshd keeps a root
	// monitor process for it; this child has none.
	defer endLogin(c.pam, c.log)
	if err := s.become(c); err != nil {
		c.log.Error("connection refused", "reason", "cannot become the user", "err", err)
		sc.Close()
		return err
	}
	// One P: the connection's goroutines hand work to each other all the
	// time, and with one P that needs no other thread woken. A session's
	// live heap is small and its garbage mostly packet buffers: collecting
	// less often costs little memory and saves CPU. (A sync session
	// takes a second P: see startSync.)
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(400)
	defer s.metered.startMeter()()
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
	return nil
}

// handshake checks the client's identification line, then does the key
// exchange and authentication. The identification and key exchange must
// be over within KexTimeout, all of it within LoginGraceTime, both from
// the start; else the connection is closed.
func (s *connServer) handshake() (*ssh.ServerConn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	start := time.Now()
	grace := s.cfg.LoginGraceTime
	s.limit(min(s.cfg.KexTimeout, grace), "kex_timeout")
	s.ssh.PreAuthConnCallback = func(ssh.ServerPreAuthConn) {
		s.limit(time.Until(start.Add(grace)), "login_grace_time")
	}
	s.metered = &meteredConn{Conn: s.nc}
	nc, err := exchangeIdent(s.metered, s.ssh.ServerVersion)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, chans, reqs, err := ssh.NewServerConn(nc, s.ssh)
	if err != nil {
		return nil, nil, nil, err
	}
	if s.stopLimit() != "" {
		sc.Close()
		return nil, nil, nil, errors.New("authenticated too late")
	}
	return sc, chans, reqs, nil
}

// limit closes the connection after d unless stopLimit comes first; what
// names the limit for the log. It replaces the limit set before.
func (s *connServer) limit(d time.Duration, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(max(d, 0), func() {
		s.mu.Lock()
		mine := s.timer == t
		if mine {
			s.expired = what
		}
		s.mu.Unlock()
		if mine {
			s.nc.Close()
		}
	})
	s.timer = t
}

// stopLimit stops the limit's timer and returns the limit that ran out,
// if one did.
func (s *connServer) stopLimit() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	return s.expired
}

// become makes the process the authenticated user: it makes the user's
// root when missing (as root), then drops to the user's uid, gid and groups
// on every thread and sets the umask. Root stays root only when PermitRoot.
func (s *connServer) become(c *conn) error {
	acct, err := s.auth.accounts.Lookup(c.user)
	if err != nil {
		return err
	}
	// Checked again: the account may have changed since the callback.
	if ok, why := policy(s.cfg, acct); !ok {
		return errors.New(why)
	}
	if why := accountRefusal(acct, statShell(acct), s.cfg.ShellCheck, day(time.Now())); why != "" {
		return errors.New(why)
	}
	if c.root, err = userRoot(s.cfg.Root, acct); err != nil {
		return err
	}
	if s.auth.pam != nil {
		// As sshd with UsePAM: credentials and session before the drop.
		if c.pam == nil {
			return errors.New("no PAM transaction for the login")
		}
		if err := c.pam.openSession(); err != nil {
			return err
		}
	}
	if acct.UID != 0 {
		if err := dropPrivileges(acct.UID, acct.GID, acct.Groups); err != nil {
			return err
		}
	}
	syscall.Umask(int(s.cfg.Umask))
	return nil
}

// keepalive sends keepalive requests and closes the connection when the
// client stops answering or, with an idle timeout, when no channel traffic
// has passed for that long.
func (s *connServer) keepalive(c *conn, done <-chan struct{}) {
	t := time.NewTicker(s.cfg.KeepAlive)
	defer t.Stop()
	var missed atomic.Int32
	var pending atomic.Bool
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if idle := s.cfg.IdleTimeout; idle > 0 && time.Since(time.Unix(0, c.lastUse.Load())) > idle {
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

// ChildFiles returns a connection child's inherited connection (ConnFD),
// control socket (CtlFD), signing socket (SignFD) and oracle socket
// (DirtyFD). It closes any other descriptor the child inherited (see
// closeStray).
func ChildFiles() (nc, ctl, sign, dirty net.Conn, err error) {
	if err := closeStray("/proc/self/fd", DirtyFD+1); err != nil {
		return nil, nil, nil, nil, err
	}
	var out [4]net.Conn
	for i, fd := range []int{ConnFD, CtlFD, SignFD, DirtyFD} {
		f := os.NewFile(uintptr(fd), "inherited")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("inherited descriptor %d: %w", fd, err)
		}
		out[i] = c
	}
	return out[0], out[1], out[2], out[3], nil
}
