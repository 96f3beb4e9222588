//go:build !pam

package server

// PasswordAuthSupported reports whether this binary was built with PAM
// (-tags pam) and so can enable password_auth.
const PasswordAuthSupported = false

func newPasswordChecker(string) (passwordChecker, error) { return nil, errNoPAM }
