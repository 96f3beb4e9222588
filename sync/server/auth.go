package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"
)

// Permission extension keys the authenticator hands to the session code.
const (
	extUser = "simplecloud-user"
	extFP   = "simplecloud-key-fp"
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
	// methods through the system's password stack (password.go).
	passwords     passwordChecker
	passwordDelay time.Duration // how long refusals before the stack take
}

// publicKey is ssh.ServerConfig.PublicKeyCallback: it decides whether key may
// log in as the requested user, before the client has proved it holds the key.
func (a *authenticator) publicKey(conn ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	fp := ssh.FingerprintSHA256(key)
	log := a.log.With("user", conn.User(), "addr", conn.RemoteAddr().String(), "key", fp)
	acct, err := a.accounts.Lookup(conn.User())
	if err != nil {
		log.Info("auth refused", "reason", "no such user")
		return nil, errDenied
	}
	if ok, why := policy(a.cfg, acct); !ok {
		log.Info("auth refused", "reason", why)
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
		if err := checkOptions(k.Options, conn.RemoteAddr(), a.now()); err != nil {
			log.Info("auth refused", "reason", "key options", "line", k.Line, "err", err)
			continue
		}
		return &ssh.Permissions{Extensions: map[string]string{extUser: acct.Name, extFP: fp}}, nil
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
	a.backoff.succeed(conn.User())
	a.log.Info("auth accepted", "user", conn.User(), "addr", conn.RemoteAddr().String(),
		"key", p.Extensions[extFP], "alg", alg, "client", string(conn.ClientVersion()))
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
