// Package cmdrun runs external programs. Every shell-out of the project goes
// through it so that a failure always names the command, its exit status and
// the tail of its standard error.
package cmdrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// maxStderr bounds how much of a command's stderr an Error keeps.
const maxStderr = 2048

// Error is returned when a command cannot start or exits unsuccessfully.
type Error struct {
	Cmd    string // the command line, for messages (never holds secrets: callers pass them on stdin)
	Exit   int    // exit status, or -1 when it did not start or was killed by a signal
	Stderr string // trimmed standard error
	Err    error  // the underlying error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: ", e.Cmd)
	if e.Exit >= 0 {
		fmt.Fprintf(&b, "exit status %d", e.Exit)
	} else {
		b.WriteString(e.Err.Error())
	}
	if e.Stderr != "" {
		fmt.Fprintf(&b, ": %s", e.Stderr)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Cmd describes one invocation.
type Cmd struct {
	Name  string
	Args  []string
	Dir   string
	Env   []string // added to the inherited environment
	Stdin io.Reader
}

// Output runs c and returns its standard output. A non-zero exit or a
// failure to start returns an *Error.
func (c Cmd) Output(ctx context.Context) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.Env...)
	}
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		e := &Error{Cmd: c.String(), Exit: -1, Stderr: trim(stderr.String()), Err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			e.Exit = ee.ExitCode()
		}
		return stdout.Bytes(), e
	}
	return stdout.Bytes(), nil
}

// Run runs c and discards its standard output.
func (c Cmd) Run(ctx context.Context) error {
	_, err := c.Output(ctx)
	return err
}

// String returns the command line, quoted where needed.
func (c Cmd) String() string {
	parts := make([]string, 0, len(c.Args)+1)
	for _, s := range append([]string{c.Name}, c.Args...) {
		if s == "" || strings.ContainsAny(s, " \t\n'\"\\$") {
			s = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Run is shorthand for Cmd{Name: name, Args: args}.Output(ctx).
func Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return Cmd{Name: name, Args: args}.Output(ctx)
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxStderr {
		s = "..." + s[len(s)-maxStderr:]
	}
	return s
}
