package server

import (
	"errors"
	"log/slog"
	"os/user"
)

// account looks the user called name up and checks that it may log in at
// all, by any method: the configuration's policy, then the account's state
// (accountRefusal). It logs each refusal with its reason.
func (a *authenticator) account(log *slog.Logger, name string) (Account, bool) {
	acct, err := a.accounts.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			log.Info("auth refused", "reason", "no such user")
		} else {
			log.Warn("auth refused", "reason", "cannot read the account", "err", err)
		}
		return Account{}, false
	}
	if ok, why := policy(a.cfg, acct); !ok {
		log.Info("auth refused", "reason", why)
		return Account{}, false
	}
	if why := accountRefusal(acct, statShell(acct), a.cfg.ShellCheck, day(a.now())); why != "" {
		if h := lockHint(acct); h != "" {
			log = log.With("hint", h)
		}
		log.Info("auth refused", "reason", why)
		return Account{}, false
	}
	return acct, true
}

// keepLogin holds the PAM transaction of the login that succeeded, for the
// connection child to open its session (takeLogin).
func (a *authenticator) keepLogin(l pamLogin) {
	a.mu.Lock()
	old := a.login
	a.login = l
	a.mu.Unlock()
	endLogin(old, a.log)
}

// takeLogin hands over the PAM transaction keepLogin holds, or nil.
func (a *authenticator) takeLogin() pamLogin {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.login
	a.login = nil
	return l
}

// endLogin ends the PAM transaction l, if any. A failure is logged at
// debug: after the privilege drop it runs as the user (see conn.endPAM).
func endLogin(l pamLogin, log *slog.Logger) {
	if l == nil {
		return
	}
	if err := l.end(); err != nil {
		log.Debug("end the PAM transaction", "err", err)
	}
}
