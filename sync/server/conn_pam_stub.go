//go:build !pam

package server

// PasswordAuthSupported reports whether this binary was built with PAM
// (-tags pam) and so can enable password_auth and use_pam.
const PasswordAuthSupported = false

func newPasswordChecker(string) (passwordChecker, error) { return nil, errNoPAM }

func newAccountChecker(string) (accountChecker, error) { return nil, errNoPAMAccount }

// runConn runs serve: without PAM, no call needs the main thread.
func runConn(serve func() error) error { return serve() }
