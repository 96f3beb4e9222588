package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Permission extension keys the authenticator hands to the session code.
const (
	extUser = "simplecloud-user"
	extFP   = "simplecloud-key-fp"
	// extCommand is the key's forced command (command= in
	// authorized_keys); only forceSFTP is ever set.
	extCommand = "simplecloud-force-command"
	// extPwChange says why the password must be changed, for the log of
	// a key login that goes on anyway.
	extPwChange = "simplecloud-password-change"
)

// errDenied is what clients learn about any refusal; the reason goes to the log.
var errDenied = errors.New("permission denied")

// authEvents learns the outcome of authentication attempts for the
// back-off per source and user. In a connection child it is the report to
// the parent (ctlEvents), whose admission policy keeps the counts across
// connections.
type authEvents interface {
	fail(user string)    // an attempt for user failed
	succeed(user string) // the connection is authenticated as user
}

// authenticator holds the server's authentication: public keys always,
// passwords when enabled.
type authenticator struct {
	cfg      Config
	accounts Accounts
	backoff  authEvents
	log      *slog.Logger
	now      func() time.Time
	// passwords, when set, enables the password and keyboard-interactive
	// methods through the system's password stack (conn_password.go).
	passwords     passwordChecker
	passwordDelay time.Duration // how long refusals before the stack take
	// pam, when set (use_pam), runs PAM's account phase for key logins;
	// the login's transaction (login) then lives on for the session.
	pam   accountChecker
	mu    sync.Mutex
	login pamLogin
}

// publicKey is ssh.ServerConfig.PublicKeyCallback: it decides whether key may
// log in as the requested user, before the client has proved it holds the key.
func (a *authenticator) publicKey(conn ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	fp := ssh.FingerprintSHA256(key)
	log := a.log.With("user", conn.User(), "addr", conn.RemoteAddr().String(), "key", fp)
	acct, ok := a.account(log, conn.User())
	if !ok {
		return nil, errDenied
	}
	p := filepath.Join(acct.Home, ".ssh", "authorized_keys")
	b, err := readAuthorizedKeys(p, acct.Home, acct.UID, acct.GID, acct.Groups)
	if err != nil {
		log.Info("auth refused", "reason", "authorized_keys unusable", "err", err)
		return nil, errDenied
	}
	keys, bad := parseAuthorizedKeys(b)
	if len(bad) > 0 {
		log.Debug("authorized_keys has unparsable lines", "lines", bad)
	}
	want := key.Marshal()
	for _, k := range keys {
		if !bytes.Equal(k.Key.Marshal(), want) {
			continue
		}
		rules, err := checkOptions(k.Options, conn.RemoteAddr(), a.now())
		if err != nil {
			log.Info("auth refused", "reason", "key options", "line", k.Line, "err", err)
			continue
		}
		ext := map[string]string{extUser: acct.Name, extFP: fp}
		if rules.command != "" {
			ext[extCommand] = rules.command
		}
		if why := passwordChange(acct.Shadow, day(a.now())); why != "" {
			ext[extPwChange] = why
		}
		return &ssh.Permissions{Extensions: ext}, nil
	}
	log.Debug("auth refused", "reason", "key not in authorized_keys")
	return nil, errDenied
}

// verified is ssh.ServerConfig.VerifiedPublicKeyCallback: the client has
// signed with a key publicKey accepted. Only now is the login a success.
func (a *authenticator) verified(conn ssh.ConnMetadata, key ssh.PublicKey, p *ssh.Permissions, alg string) (*ssh.Permissions, error) {
	if p == nil || p.Extensions[extUser] != conn.User() {
		return nil, fmt.Errorf("verified key without permissions: %w", errDenied)
	}
	log := a.log.With("user", conn.User(), "addr", conn.RemoteAddr().String(), "key", p.Extensions[extFP])
	// As sshd: a password that must be changed does not stop a key.
	if why := p.Extensions[extPwChange]; why != "" {
		log.Warn("key login with a password that must be changed", "reason", why)
	}
	if a.pam != nil {
		l, err := a.pam.account(conn.User(), hostOf(conn.RemoteAddr()))
		if err != nil && l == nil {
			log.Info("auth refused", "reason", "PAM account check", "err", err)
			return nil, errDenied
		}
		if err != nil {
			log.Warn("key login with a password that must be changed", "reason", "PAM", "err", err)
		}
		a.keepLogin(l)
	}
	a.backoff.succeed(conn.User())
	if cmd := p.Extensions[extCommand]; cmd != "" {
		log = log.With("command", cmd)
	}
	log.Info("auth accepted", "alg", alg, "client", string(conn.ClientVersion()))
	return p, nil
}

// authLog is ssh.ServerConfig.AuthLogCallback. Every failed method except the
// client's initial "none" probe counts towards the address's back-off.
func (a *authenticator) authLog(conn ssh.ConnMetadata, method string, err error) {
	if err == nil || method == "none" {
		return
	}
	a.backoff.fail(conn.User())
	a.log.Debug("auth attempt failed", "user", conn.User(), "addr", conn.RemoteAddr().String(), "method", method)
}

// serverConfig builds the ssh.ServerConfig with the host keys.
func (a *authenticator) serverConfig(keys []HostKey) *ssh.ServerConfig {
	c := &ssh.ServerConfig{
		PublicKeyCallback:         a.publicKey,
		VerifiedPublicKeyCallback: a.verified,
		AuthLogCallback:           a.authLog,
		MaxAuthTries:              a.cfg.MaxAuthTries,
		ServerVersion:             "SSH-2.0-SimpleCloud",
	}
	if a.passwords != nil {
		c.PasswordCallback = a.password
		c.KeyboardInteractiveCallback = a.keyboardInteractive
	}
	for _, k := range keys {
		c.AddHostKey(k.Signer)
	}
	return c
}
