//go:build pam

package server

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/msteinert/pam/v2"
	"golang.org/x/sys/unix"
)

// PasswordAuthSupported reports whether this binary was built with PAM
// (-tags pam) and so can enable password_auth and use_pam.
const PasswordAuthSupported = true

func init() {
	// main.main runs on the main thread and keeps it, so that a
	// connection child can run its PAM transactions there (runConn): the
	// kernel lets only a process's main thread write /proc/self/loginuid,
	// so pam_loginuid (in Debian's sshd stack) fails on any other, and
	// modules are written for single-threaded daemons.
	runtime.LockOSThread()
}

// mainCalls carries PAM calls to the main thread while runConn keeps it
// for them (onMain).
var (
	mainCalls = make(chan func())
	onMain    atomic.Bool
)

// runConn runs serve. Called on the main thread (ServeConn from
// main.main), it runs serve in another goroutine and keeps the main
// thread for the PAM transactions (pamTx) until serve returns; elsewhere
// (tests) it runs serve directly and every transaction gets a thread of
// its own.
func runConn(serve func() error) error {
	if unix.Gettid() != unix.Getpid() {
		return serve()
	}
	done := make(chan error, 1)
	onMain.Store(true)
	defer onMain.Store(false)
	go func() { done <- serve() }()
	for {
		select {
		case f := <-mainCalls:
			f()
		case err := <-done:
			return err
		}
	}
}

// pamChecker runs logins through a PAM service with the real libpam. Every
// login is a transaction of its own, so it is safe for concurrent use.
type pamChecker struct{ service string }

func newPasswordChecker(service string) (passwordChecker, error) {
	return pamChecker{service: service}, nil
}

func newAccountChecker(service string) (accountChecker, error) {
	return pamChecker{service: service}, nil
}

// authenticate runs pam_authenticate and then pam_acct_mgmt for user, and
// returns the transaction for the session.
func (p pamChecker) authenticate(user, rhost string, conv conversation) (pamLogin, error) {
	t, err := startTx(p.service, user, rhost, conv)
	if err != nil {
		return nil, err
	}
	t.do(func() {
		if err = t.tx.Authenticate(pam.DisallowNullAuthtok); err != nil {
			err = fmt.Errorf("pam_authenticate: %w", err)
			return
		}
		if err = t.sameUser(user); err != nil {
			return
		}
		err = acctMgmt(t.tx, pam.DisallowNullAuthtok)
		// The client is not asked anything after authentication.
		t.conv = noQuestions
	})
	if err != nil {
		t.end()
		return nil, err
	}
	return t, nil
}

// account runs pam_acct_mgmt for user, who has authenticated otherwise (a
// key), and returns the transaction for the session. When PAM says the
// password must be changed, it returns the transaction and an error
// wrapping errPasswordExpired.
func (p pamChecker) account(user, rhost string) (pamLogin, error) {
	t, err := startTx(p.service, user, rhost, noQuestions)
	if err != nil {
		return nil, err
	}
	t.do(func() {
		err = acctMgmt(t.tx, 0)
		if uerr := t.sameUser(user); uerr != nil {
			err = uerr
		}
	})
	if err == nil || errors.Is(err, errPasswordExpired) {
		return t, err
	}
	t.end()
	return nil, err
}

// noQuestions is the conversation of a transaction that cannot ask the
// client anything: a key login, or a password login after pam_authenticate.
func noQuestions(style msgStyle, msg string) (string, error) {
	if style == promptEchoOff || style == promptEchoOn {
		return "", fmt.Errorf("PAM asked %q where no one can answer", msg)
	}
	return "", nil
}

// acctMgmt runs pam_acct_mgmt with flags.
func acctMgmt(tx *pam.Transaction, flags pam.Flags) error {
	err := tx.AcctMgmt(flags)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pam.ErrNewAuthtokReqd):
		return fmt.Errorf("pam_acct_mgmt: %w: %w", errPasswordExpired, err)
	}
	return fmt.Errorf("pam_acct_mgmt: %w", err)
}

// pamTx is one login's PAM transaction. PAM modules are written for
// single-threaded daemons, so every call of a transaction, from pam_start
// to pam_end, runs on one OS thread, which runs the calls handed to it
// (do): the main thread in a connection child (runConn), else that of a
// goroutine of its own, locked to it. The transaction lives from
// authentication to the end of the connection, as its session.
type pamTx struct {
	calls chan func()
	own   bool // calls is the transaction's own goroutine's
	once  sync.Once
	// Only the transaction's goroutine touches these.
	tx             *pam.Transaction
	conv           conversation
	creds, session bool // pam_setcred and pam_open_session succeeded
}

// startTx starts the transaction's goroutine and calls pam_start for user
// from the address rhost; conv answers the stack until it is replaced.
func startTx(service, user, rhost string, conv conversation) (*pamTx, error) {
	t := &pamTx{calls: mainCalls, conv: conv}
	if !onMain.Load() {
		t.calls, t.own = make(chan func()), true
		go t.run()
	}
	var err error
	t.do(func() {
		t.tx, err = pam.StartFunc(service, user, t.respond)
		if err != nil {
			err = fmt.Errorf("pam_start %s: %w", service, err)
			return
		}
		// PAM_TTY "ssh" as sshd sets it for sessions without a terminal.
		for _, it := range []struct {
			item pam.Item
			v    string
		}{{pam.Rhost, rhost}, {pam.Tty, "ssh"}} {
			if err = t.tx.SetItem(it.item, it.v); err != nil {
				err = fmt.Errorf("pam_set_item: %w", err)
				return
			}
		}
	})
	if err != nil {
		t.end()
		return nil, err
	}
	return t, nil
}

// run is the transaction's goroutine. It never unlocks its thread: the
// thread ends with the goroutine, and whatever the modules left on it
// goes with it.
func (t *pamTx) run() {
	runtime.LockOSThread()
	for f := range t.calls {
		f()
	}
}

// do runs f on the transaction's thread and waits for it.
func (t *pamTx) do(f func()) {
	done := make(chan struct{})
	t.calls <- func() {
		defer close(done)
		f()
	}
	<-done
}

// respond is the PAM conversation: it hands each message to t.conv.
func (t *pamTx) respond(s pam.Style, msg string) (string, error) {
	switch s {
	case pam.PromptEchoOff:
		return t.conv(promptEchoOff, msg)
	case pam.PromptEchoOn:
		return t.conv(promptEchoOn, msg)
	case pam.TextInfo:
		return t.conv(textInfo, msg)
	case pam.ErrorMsg:
		return t.conv(errorMsg, msg)
	}
	return "", fmt.Errorf("unsupported PAM message style %d", s)
}

// sameUser checks that no module rewrote PAM_USER: the login is for the
// user asked.
func (t *pamTx) sameUser(user string) error {
	if got, err := t.tx.GetItem(pam.User); err != nil || got != user {
		return fmt.Errorf("a PAM module changed the user to %q (%v)", got, err)
	}
	return nil
}

// openSession runs pam_setcred(PAM_ESTABLISH_CRED) and pam_open_session,
// as sshd does with UsePAM before it drops privileges.
func (t *pamTx) openSession() error {
	var err error
	t.do(func() {
		if err = t.tx.SetCred(pam.EstablishCred); err != nil {
			err = fmt.Errorf("pam_setcred: %w", err)
			return
		}
		t.creds = true
		if err = t.tx.OpenSession(0); err != nil {
			err = fmt.Errorf("pam_open_session: %w", err)
			return
		}
		t.session = true
	})
	return err
}

// end closes the session if it was opened (pam_close_session, then
// pam_setcred(PAM_DELETE_CRED)), ends the transaction (pam_end) and its
// goroutine. Only the first call does anything.
func (t *pamTx) end() error {
	var err error
	t.once.Do(func() {
		t.do(func() {
			if t.tx == nil {
				return
			}
			if t.session {
				if e := t.tx.CloseSession(0); e != nil {
					err = fmt.Errorf("pam_close_session: %w", e)
				}
			}
			if t.creds {
				if e := t.tx.SetCred(pam.DeleteCred); e != nil {
					err = errors.Join(err, fmt.Errorf("pam_setcred(PAM_DELETE_CRED): %w", e))
				}
			}
			if e := t.tx.End(); e != nil {
				err = errors.Join(err, fmt.Errorf("pam_end: %w", e))
			}
		})
		if t.own {
			close(t.calls)
		}
	})
	return err
}
