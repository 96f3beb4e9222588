package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"simplecloud/internal/gate"
	"simplecloud/sync/server/admit"
)

// UnlockMode is what the server needs to offer remote unlock while the
// data volume is locked.
type UnlockMode struct {
	// Gate tries the passphrases; the console prompt shares it.
	Gate *gate.Gate
	// AdminGroup is the group whose members may unlock.
	AdminGroup string
	// Volume names the volume in prompts ("simplecloud (disk)").
	Volume string
	// Accounts looks users up; nil is SystemAccounts{}.
	Accounts Accounts
}

// Messages of the unlock mode, as clients see them.
const (
	unlockBanner = "SimpleCloud: the data volume is locked. Members of group %q may unlock it: ssh HOST unlock\r\n"
	unlockOnly   = "simplecloud: the data volume is locked: only \"unlock\" is offered until it is open\n"
)

// ServeUnlocking runs the server's unlock mode on ln until m.Gate's asking
// is over or ctx ends. Nothing but the unlock command is offered, and only
// to members of m.AdminGroup who log in with a key from their
// authorized_keys; every connection is served in this process (the root
// parent: unlocking needs root, and no user file is reached). Once the
// volume is unlocked it returns a listener for Serve: ln, with a
// connection accepted as the mode ended served first, so that clients see
// the same server go on. It returns the gate's error when the tries are
// used up, or ctx's. It waits for the unlock sessions to end.
func (s *Server) ServeUnlocking(ctx context.Context, ln net.Listener, m UnlockMode) (net.Listener, error) {
	if m.Accounts == nil {
		m.Accounts = SystemAccounts{}
	}
	u := &unlocker{s: s, m: m, log: s.log.With("mode", "unlock")}
	u.ssh = u.serverConfig()
	type accepted struct {
		nc  net.Conn
		err error
	}
	conns := make(chan accepted)
	stop := make(chan struct{})
	left := make(chan net.Conn, 1) // accepted after the mode ended
	go func() {
		defer close(left)
		for {
			nc, err := ln.Accept()
			select {
			case conns <- accepted{nc, err}:
			case <-stop:
				if err == nil {
					left <- nc
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	end := func() net.Listener {
		close(stop)
		// Unblock the accept in flight, to hand ln to Serve.
		d, ok := ln.(interface{ SetDeadline(time.Time) error })
		if ok {
			d.SetDeadline(time.Now())
		}
		nc, got := <-left
		if ok {
			d.SetDeadline(time.Time{})
		}
		u.wg.Wait()
		if got {
			return &pendingListener{Listener: ln, first: nc}
		}
		return ln
	}
	for {
		select {
		case <-ctx.Done():
			end()
			return ln, ctx.Err()
		case <-m.Gate.Done():
			u.log.Info("unlock mode over", "err", m.Gate.Err(), "winner", m.Gate.Winner())
			l := end()
			return l, m.Gate.Err()
		case a := <-conns:
			if a.err != nil {
				end()
				return ln, fmt.Errorf("accept: %w", a.err)
			}
			u.admit(ctx, a.nc)
		}
	}
}

// pendingListener returns first, then ln's connections.
type pendingListener struct {
	net.Listener
	mu    sync.Mutex
	first net.Conn
}

func (l *pendingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	nc := l.first
	l.first = nil
	l.mu.Unlock()
	if nc != nil {
		return nc, nil
	}
	return l.Listener.Accept()
}

// unlocker serves the connections of the unlock mode.
type unlocker struct {
	s   *Server
	m   UnlockMode
	log *slog.Logger
	ssh *ssh.ServerConfig
	wg  sync.WaitGroup
}

// admit asks the admission policy about nc and serves it.
func (u *unlocker) admit(ctx context.Context, nc net.Conn) {
	ac, err := u.s.admit.Admit(addrOf(nc.RemoteAddr()))
	if err != nil {
		u.s.refusals.refused(nc.RemoteAddr().String(), err)
		nc.Close()
		return
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		u.serveConn(ctx, nc, ac)
	}()
}

// serverConfig is the SSH configuration of the unlock mode: public keys of
// admins only.
func (u *unlocker) serverConfig() *ssh.ServerConfig {
	c := &ssh.ServerConfig{
		PublicKeyCallback: u.publicKey,
		MaxAuthTries:      u.s.cfg.MaxAuthTries,
		ServerVersion:     "SSH-2.0-SimpleCloud",
		BannerCallback: func(ssh.ConnMetadata) string {
			return fmt.Sprintf(unlockBanner, u.m.AdminGroup)
		},
	}
	for _, k := range u.s.signers {
		c.AddHostKey(k)
	}
	return c
}

// publicKey lets key in when its user is in the admin group and the key is
// in the user's authorized_keys (read as sshd's StrictModes would). A key
// whose options force a command cannot unlock.
func (u *unlocker) publicKey(conn ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	fp := ssh.FingerprintSHA256(key)
	log := u.log.With("user", conn.User(), "addr", conn.RemoteAddr().String(), "key", fp)
	refuse := func(msg, reason string, err error) (*ssh.Permissions, error) {
		log.Info("unlock login refused", "reason", reason, "err", err)
		return nil, &ssh.BannerError{Err: errDenied, Message: msg + "\r\n"}
	}
	acct, err := u.m.Accounts.Lookup(conn.User())
	if err != nil {
		return refuse("Permission denied.", "no such user", err)
	}
	// As for every login: no expired or locked account, no login shell
	// that is missing.
	if why := accountRefusal(acct, statShell(acct), u.s.cfg.ShellCheck, day(time.Now())); why != "" {
		return refuse("Permission denied.", why, nil)
	}
	if !slices.Contains(acct.GroupNames, u.m.AdminGroup) {
		return refuse(fmt.Sprintf("Only members of group %q may unlock the data volume.", u.m.AdminGroup), "not in the admin group", nil)
	}
	p := filepath.Join(acct.Home, ".ssh", "authorized_keys")
	b, err := readAuthorizedKeys(p, acct.Home, acct.UID, acct.GID, acct.Groups)
	if errors.Is(err, fs.ErrNotExist) {
		return refuse(fmt.Sprintf("No %s: is the home directory on the locked data volume? Unlocking needs keys on the root file system.", p),
			"no authorized_keys", err)
	}
	if err != nil {
		return refuse("Permission denied.", "authorized_keys unusable", err)
	}
	keys, _ := parseAuthorizedKeys(b)
	want := key.Marshal()
	for _, k := range keys {
		if !bytes.Equal(k.Key.Marshal(), want) {
			continue
		}
		rules, err := checkOptions(k.Options, conn.RemoteAddr(), time.Now())
		if err != nil {
			log.Info("unlock login refused", "reason", "key options", "line", k.Line, "err", err)
			continue
		}
		if rules.command != "" {
			return refuse("This key is restricted to a command: it cannot unlock.", "forced command", nil)
		}
		return &ssh.Permissions{Extensions: map[string]string{extUser: acct.Name, extFP: fp}}, nil
	}
	log.Debug("unlock login refused", "reason", "key not in authorized_keys")
	return nil, errDenied
}

// serveConn does one connection's handshake and serves its sessions.
func (u *unlocker) serveConn(ctx context.Context, nc net.Conn, ac *admit.Conn) {
	addr := nc.RemoteAddr().String()
	how := admit.Closed
	defer func() { ac.End(how) }()
	t := &sessionTracker{nc: nc}
	t.idle.L = &t.mu
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		// Once the asking is over, or the server stops, the connection
		// closes as soon as its sessions have said their last word.
		select {
		case <-u.m.Gate.Done():
		case <-ctx.Done():
		case <-finished:
			return
		}
		t.closing()
	}()
	// The handshake must be over within LoginGraceTime.
	grace := time.AfterFunc(u.s.cfg.LoginGraceTime, func() { nc.Close() })
	cfg := *u.ssh
	cfg.AuthLogCallback = func(conn ssh.ConnMetadata, method string, err error) {
		if err != nil && method != "none" {
			ac.Failed(conn.User())
		}
	}
	sc, chans, reqs, err := ssh.NewServerConn(nc, &cfg)
	if !grace.Stop() && err == nil {
		sc.Close()
		err = errors.New("authenticated too late")
		how = admit.TimedOut
	}
	if err != nil {
		u.log.Info("unlock handshake failed", "addr", addr, "err", err)
		nc.Close()
		return
	}
	ac.Authenticated(sc.User())
	log := u.log.With("user", sc.User(), "addr", addr, "key", sc.Permissions.Extensions[extFP])
	log.Info("unlock login")
	// Global requests (port forwarding) are refused.
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.Prohibited, "the data volume is locked: only unlock is offered")
			log.Info("unlock mode refused a channel", "type", nch.ChannelType())
			continue
		}
		if !t.start() {
			nch.Reject(ssh.Prohibited, "the unlock mode is over: connect again")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			t.end()
			continue
		}
		go func() {
			defer t.end()
			u.session(ctx, &unlockSession{ch: ch, log: log, addr: addr, key: sc.Permissions.Extensions[extFP]}, creqs)
		}()
	}
	t.wait()
	log.Info("unlock connection closed")
}

// closeGrace is how long an unlock connection whose sessions have ended
// may stay once the mode is over.
const closeGrace = 2 * time.Second

// sessionTracker closes an unlock connection once the mode is over and its
// sessions have ended.
type sessionTracker struct {
	nc   net.Conn
	mu   sync.Mutex
	busy int
	used bool // a session was started
	shut bool
	idle sync.Cond
}

// start counts a new session; false once the connection is closing.
func (t *sessionTracker) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shut {
		return false
	}
	t.busy++
	t.used = true
	return true
}

// end counts a session's end.
func (t *sessionTracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.busy--
	if t.busy == 0 {
		if t.shut {
			// The client hangs up itself once its last channel is
			// closed; a multiplexing one that does not is closed soon.
			time.AfterFunc(closeGrace, func() { t.nc.Close() })
		}
		t.idle.Broadcast()
	}
}

// closing closes the connection now or when its last session ends.
func (t *sessionTracker) closing() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.shut = true
	switch {
	case t.busy > 0: // end closes it
	case t.used:
		// Its sessions ended just now: let the client hang up.
		time.AfterFunc(closeGrace, func() { t.nc.Close() })
	default:
		t.nc.Close() // idle, or still in the handshake
	}
}

// wait returns once no session runs.
func (t *sessionTracker) wait() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.busy > 0 {
		t.idle.Wait()
	}
}
