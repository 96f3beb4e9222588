//go:build pam

package server

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/msteinert/pam/v2"
)

// PasswordAuthSupported reports whether this binary was built with PAM
// (-tags pam) and so can enable password_auth.
const PasswordAuthSupported = true

// pamChecker runs logins through a PAM service with the real libpam. Every
// login is a transaction of its own, so it is safe for concurrent use.
type pamChecker struct{ service string }

func newPasswordChecker(service string) (passwordChecker, error) {
	return pamChecker{service: service}, nil
}

// authenticate runs pam_authenticate and then pam_acct_mgmt for user. The
// transaction stays on one OS thread from start to end, as modules written
// for single-threaded daemons expect.
func (p pamChecker) authenticate(user, rhost string, conv conversation) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tx, err := pam.StartFunc(p.service, user, func(s pam.Style, msg string) (string, error) {
		switch s {
		case pam.PromptEchoOff:
			return conv(promptEchoOff, msg)
		case pam.PromptEchoOn:
			return conv(promptEchoOn, msg)
		case pam.TextInfo:
			return conv(textInfo, msg)
		case pam.ErrorMsg:
			return conv(errorMsg, msg)
		}
		return "", fmt.Errorf("unsupported PAM message style %d", s)
	})
	if err != nil {
		return fmt.Errorf("pam_start %s: %w", p.service, err)
	}
	defer tx.End()
	for _, it := range []struct {
		item pam.Item
		v    string
	}{{pam.Rhost, rhost}, {pam.Tty, "ssh"}} {
		if err := tx.SetItem(it.item, it.v); err != nil {
			return fmt.Errorf("pam_set_item: %w", err)
		}
	}
	if err := tx.Authenticate(pam.DisallowNullAuthtok); err != nil {
		return fmt.Errorf("pam_authenticate: %w", err)
	}
	// A module may rewrite PAM_USER; the login is for the user asked.
	if got, err := tx.GetItem(pam.User); err != nil || got != user {
		return fmt.Errorf("pam_authenticate changed the user to %q (%v)", got, err)
	}
	if err := tx.AcctMgmt(pam.DisallowNullAuthtok); err != nil {
		if errors.Is(err, pam.ErrNewAuthtokReqd) {
			return fmt.Errorf("pam_acct_mgmt: the password has expired and must be changed: %w", err)
		}
		return fmt.Errorf("pam_acct_mgmt: %w", err)
	}
	return nil
}
