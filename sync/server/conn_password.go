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

// PAMService is the default PAM service (pam_service) that password logins
// go through, and with use_pam every login's account and session phases:
// the stack in /etc/pam.d/simplecloud (PAM falls back to /etc/pam.d/other
// without it). A minimal one:
//
//	auth    required pam_unix.so
//	account required pam_unix.so
//	session required pam_unix.so
//
// Debian's sshd stack works too (pam_service = "sshd").
const PAMService = "simplecloud"

// errNoPAM is what New returns when password_auth is set in a build
// without PAM.
var errNoPAM = errors.New("password authentication (--password-auth, password_auth) needs a simplecloud built with PAM support " +
	"(CGO_ENABLED=1 go build -tags pam, with libpam0g-dev); this one is not")

// errNoPAMAccount is what New returns when use_pam is set in a build
// without PAM.
var errNoPAMAccount = errors.New("use_pam needs a simplecloud built with PAM support " +
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
	// the account may be used now (pam_acct_mgmt). It returns the login's
	// transaction for the session (nil when there is none), or an error
	// wrapping errPasswordExpired when the password must be changed.
	authenticate(user, rhost string, conv conversation) (pamLogin, error)
}

// accountChecker runs PAM's account phase for logins that did not go
// through the password stack (keys). It is safe for concurrent use.
type accountChecker interface {
	// account starts a transaction for user from rhost and runs
	// pam_acct_mgmt. When PAM says the password must be changed, it
	// returns the login and an error wrapping errPasswordExpired.
	account(user, rhost string) (pamLogin, error)
}

// pamLogin is a login's PAM transaction after its account check. The
// connection child opens the session before it drops privileges and ends
// the transaction when the connection ends.
type pamLogin interface {
	// openSession runs pam_setcred(PAM_ESTABLISH_CRED) and
	// pam_open_session.
	openSession() error
	// end closes the session if it is open (pam_close_session,
	// pam_setcred(PAM_DELETE_CRED)) and ends the transaction (pam_end).
	end() error
}

// errPasswordExpired is what the password stack reports when the
// password must be changed (PAM_NEW_AUTHTOK_REQD).
var errPasswordExpired = errors.New("the password has expired and must be changed")

// passwordFailDelay is how long a refusal takes when the password stack was
// never asked (unknown or refused user), so that it looks like a wrong
// password, which pam_unix delays by about as much.
const passwordFailDelay = 2 * time.Second

// passwordLogin checks that conn's user may log in at all and then runs
// the password stack with conv. method is "password" or
// "keyboard-interactive", for the log. Nothing of the password is logged.
func (a *authenticator) passwordLogin(conn ssh.ConnMetadata, method string, conv conversation) (*ssh.Permissions, error) {
	log := a.log.With("user", conn.User(), "addr", conn.RemoteAddr().String(), "method", method)
	acct, ok := a.account(log, conn.User())
	if !ok {
		a.failDelay()
		return nil, errDenied
	}
	login, err := a.passwords.authenticate(acct.Name, hostOf(conn.RemoteAddr()), conv)
	if errors.Is(err, errPasswordExpired) {
		log.Info("auth refused", "reason", "password must be changed", "err", err)
		return nil, &ssh.BannerError{Err: errDenied, Message: passwordExpiredBanner}
	}
	if err != nil {
		log.Info("auth refused", "reason", "password stack", "err", err)
		return nil, errDenied
	}
	// Only now, with the password right, is the client told.
	if why := passwordChange(acct.Shadow, day(a.now())); why != "" {
		endLogin(login, log)
		log.Info("auth refused", "reason", why)
		return nil, &ssh.BannerError{Err: errDenied, Message: passwordExpiredBanner}
	}
	if a.pam != nil {
		a.keepLogin(login)
	} else {
		endLogin(login, log)
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
