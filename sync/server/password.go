package server

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/crypto/ssh"
)

// PAMService is the PAM service name password logins go through: the stack
// in /etc/pam.d/simplecloud (PAM falls back to /etc/pam.d/other without it).
// A minimal one:
//
//	auth    required pam_unix.so
//	account required pam_unix.so
const PAMService = "simplecloud"

// errNoPAM is what New returns when password_auth is set in a build
// without PAM.
var errNoPAM = errors.New("password authentication (--password-auth, password_auth) needs a simplecloud built with PAM support " +
	"(CGO_ENABLED=1 go build -tags pam, with libpam0g-dev); this one is not")

// errNUL refuses an answer with a NUL byte, which C (and so PAM) would
// silently cut short.
var errNUL = errors.New("answer holds a NUL byte")

// msgStyle is the kind of one message of the password stack.
type msgStyle int

const (
	promptEchoOff msgStyle = iota // a secret: ask without echo
	promptEchoOn                  // a question whose answer may be shown
	textInfo                      // a message for the user
	errorMsg                      // an error message for the user
)

// conversation answers one message of the password stack. For textInfo and
// errorMsg the answer is ignored.
type conversation func(style msgStyle, msg string) (string, error)

// passwordChecker authenticates system users with the system's password
// stack (PAM). The server owns one; it is safe for concurrent use.
type passwordChecker interface {
	// authenticate runs one login for user from the address rhost,
	// answering the stack's questions through conv, and then checks that
	// the account may be used now (pam_acct_mgmt).
	authenticate(user, rhost string, conv conversation) error
}

// passwordFailDelay is how long a refusal takes when the password stack was
// never asked (unknown or refused user), so that it looks like a wrong
// password, which pam_unix delays by about as much.
const passwordFailDelay = 2 * time.Second

// passwordLogin checks that conn's user may log in at all and then runs
// the password stack with conv. method is "password" or
// "keyboard-interactive", for the log. Nothing of the password is logged.
func (a *authenticator) passwordLogin(conn ssh.ConnMetadata, method string, conv conversation) (*ssh.Permissions, error) {
	log := a.log.With("user", conn.User(), "addr", conn.RemoteAddr().String(), "method", method)
	acct, err := a.accounts.Lookup(conn.User())
	if err != nil {
		log.Info("auth refused", "reason", "no such user")
		a.failDelay()
		return nil, errDenied
	}
	if ok, why := policy(a.cfg, acct); !ok {
		log.Info("auth refused", "reason", why)
		a.failDelay()
		return nil, errDenied
	}
	if err := a.passwords.authenticate(acct.Name, hostOf(conn.RemoteAddr()), conv); err != nil {
		log.Info("auth refused", "reason", "password stack", "err", err)
		return nil, errDenied
	}
	a.backoff.succeed(conn.User())
	log.Info("auth accepted", "client", string(conn.ClientVersion()))
	return &ssh.Permissions{Extensions: map[string]string{extUser: acct.Name}}, nil
}

// failDelay waits about passwordFailDelay, with pam_fail_delay's jitter of
// a quarter either way.
func (a *authenticator) failDelay() {
	if a.passwordDelay <= 0 {
		return
	}
	d := a.passwordDelay * 3 / 4
	time.Sleep(d + rand.N(a.passwordDelay/2+1))
}

// password is ssh.ServerConfig.PasswordCallback. The stack's first secret
// prompt gets the password; any further question fails the login (a stack
// that asks more needs keyboard-interactive). The password is zeroed when
// the login is over.
func (a *authenticator) password(conn ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	defer clear(password)
	given := false
	return a.passwordLogin(conn, "password", func(style msgStyle, msg string) (string, error) {
		switch style {
		case promptEchoOff:
			if given {
				return "", errors.New("the stack asked for a second secret")
			}
			given = true
			if bytes.IndexByte(password, 0) >= 0 {
				return "", errNUL
			}
			return unsafeString(password), nil
		case promptEchoOn:
			return "", fmt.Errorf("the stack asked %q, which password auth cannot answer", msg)
		}
		a.log.Debug("password stack message", "user", conn.User(), "msg", msg)
		return "", nil
	})
}

// keyboardInteractive is ssh.ServerConfig.KeyboardInteractiveCallback: the
// stack's questions go to the client one at a time, with the messages
// that came before a question as its instruction. The answers arrive as Go
// strings from the ssh library, which cannot be zeroed.
func (a *authenticator) keyboardInteractive(conn ssh.ConnMetadata, client ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
	var info []string
	return a.passwordLogin(conn, "keyboard-interactive", func(style msgStyle, msg string) (string, error) {
		switch style {
		case promptEchoOff, promptEchoOn:
			instr := strings.Join(info, "\n")
			info = info[:0]
			ans, err := client("", instr, []string{msg}, []bool{style == promptEchoOn})
			if err != nil {
				return "", fmt.Errorf("ask the client: %w", err)
			}
			if len(ans) != 1 {
				return "", fmt.Errorf("ask the client: got %d answers, want 1", len(ans))
			}
			if strings.IndexByte(ans[0], 0) >= 0 {
				return "", errNUL
			}
			return ans[0], nil
		}
		info = append(info, msg)
		return "", nil
	})
}

// unsafeString is b as a string without a copy, so that zeroing b later
// also clears what was handed on. The string must not outlive the login:
// the PAM binding copies it into C memory (which PAM wipes) at once.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
