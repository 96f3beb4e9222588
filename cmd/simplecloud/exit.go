package main

import (
	"errors"
	"os/exec"
	"strings"
)

// Exit codes of the simplecloud command. Scripts may branch on them.
const (
	exitOK    = 0  // success
	exitError = 1  // any failure not listed below
	exitAuth  = 2  // wrong passphrase or failed authentication
	exitUsage = 64 // bad command line (EX_USAGE from sysexits.h)
)

// exitCoder is an error that chooses the process exit code.
type exitCoder interface {
	error
	ExitCode() int
}

// usageError marks a bad command line; it exits with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return exitUsage }

// codeError attaches an explicit exit code to an error.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }
func (e codeError) Unwrap() error { return e.err }
func (e codeError) ExitCode() int { return e.code }

// withExitCode returns err carrying the given exit code, or nil for nil.
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return codeError{code: code, err: err}
}

// exitCodeOf maps an error returned by the command tree to an exit code.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	// A child's exit status (*exec.ExitError also has ExitCode) is not
	// ours to return: it would be -1 (255) for a signal.
	var ec exitCoder
	if errors.As(err, &ec) {
		if _, child := ec.(*exec.ExitError); !child {
			return ec.ExitCode()
		}
	}
	// cobra reports unknown commands and unknown shorthand flags as plain
	// errors; they are usage errors all the same.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "required flag"} {
		if strings.HasPrefix(msg, p) {
			return exitUsage
		}
	}
	return exitError
}
