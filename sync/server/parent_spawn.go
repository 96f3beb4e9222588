package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Descriptors a connection child inherits (ExtraFiles), and its stdin,
// which holds the connSetup as JSON.
const (
	ConnFD  = 3 // the client's TCP connection
	CtlFD   = 4 // the control socket to the parent
	SignFD  = 5 // the socket to ask the parent for host key signatures over
	DirtyFD = 6 // the socket to ask the parent's oracle of changed directories (parent_dirty.go)
)

// The control socket carries the child's reports, before authentication
// only: a byte naming the report and, for a failure and the success, a
// byte of length and the user name (cut to maxReportUser bytes). The
// parent ignores everything after the success, when the child runs as the
// user. The parent asks the child to drain with one byte. Either side
// closing it means that side is gone.
const (
	reportFail    = 'F' // child: an authentication attempt failed (+ user)
	reportAuth    = 'A' // child: the connection is authenticated (+ user)
	reportTimeout = 'T' // child: the client ran out of time before authenticating
	ctlDrain      = 'D' // parent: shutting down; let the sessions finish
	maxReportUser = 64
)

// connSetup is what a connection child learns from the parent.
type connSetup struct {
	Config   Config
	HostKeys []string // the public host keys, authorized_keys format (the parent signs)
}

// child is a running connection child, seen from the parent.
type child struct {
	cmd    *exec.Cmd
	ctl    *net.UnixConn
	sign   net.Conn
	dirty  net.Conn
	killed atomic.Bool // the parent killed it
}

// childEnv are the variables of the parent's environment a connection child
// keeps; it gets no other.
var childEnv = []string{"PATH", "TZ", "GODEBUG", "GOTRACEBACK", "GORACE"}

// startChild starts argv as the connection child serving nc, with setup on
// its stdin, in a session of its own, in /.
func startChild(argv []string, nc net.Conn, setup connSetup) (*child, error) {
	fc, ok := nc.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("start connection child: %T has no descriptor", nc)
	}
	conn, err := fc.File()
	if err != nil {
		return nil, fmt.Errorf("start connection child: %w", err)
	}
	defer conn.Close()
	js, err := json.Marshal(setup)
	if err != nil {
		return nil, fmt.Errorf("start connection child: %w", err)
	}
	ctl, theirs, err := socketPair("ctl")
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	sign, theirsSign, err := socketPair("sign")
	if err != nil {
		ctl.Close()
		return nil, err
	}
	defer theirsSign.Close()
	dirty, theirsDirty, err := socketPair("dirty")
	if err != nil {
		ctl.Close()
		sign.Close()
		return nil, err
	}
	defer theirsDirty.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, k := range childEnv {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(js)
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{conn, theirs, theirsSign, theirsDirty}
	// No Pdeathsig: it fires when the forking OS thread exits, which the
	// runtime does to threads. The child ends when the control socket
	// closes instead.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// With no_new_privs on every thread, and no descriptor but these
	// (see harden.go).
	if err := startConfined(cmd); err != nil {
		ctl.Close()
		sign.Close()
		dirty.Close()
		return nil, fmt.Errorf("start connection child: %w", err)
	}
	return &child{cmd: cmd, ctl: ctl.(*net.UnixConn), sign: sign, dirty: dirty}, nil
}

// socketPair returns the parent's end of a new stream socket pair and the
// file of the child's end.
func socketPair(name string) (net.Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("start connection child: %s socket: %w", name, err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), name), os.NewFile(uintptr(fds[1]), name+"-child")
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, nil, fmt.Errorf("start connection child: %s socket: %w", name, err)
	}
	return c, theirs, nil
}

// drain asks the child to let its sessions finish and then exit.
func (c *child) drain() {
	c.ctl.SetWriteDeadline(time.Now().Add(time.Second))
	c.ctl.Write([]byte{ctlDrain})
}

// kill kills the child.
func (c *child) kill() {
	c.killed.Store(true)
	c.cmd.Process.Kill()
}

// crashed reports whether the child, which ended with err (from wait),
// crashed: it died by a signal the parent did not send, or the Go runtime
// ended it (status 2, a panic or fatal error).
func (c *child) crashed(err error) bool {
	var ee *exec.ExitError
	if c.killed.Load() || !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && (ws.Signaled() || ws.Exited() && ws.ExitStatus() == 2)
}

// wait reaps the child and closes the control socket.
func (c *child) wait() error {
	err := c.cmd.Wait()
	c.ctl.Close()
	c.sign.Close()
	c.dirty.Close()
	return err
}

// ctlEvents reports authentication events to the parent over the control
// socket; it is the child's authEvents. The address is the parent's to
// know.
type ctlEvents struct{ w io.Writer }

func (e ctlEvents) fail(user string)    { e.w.Write(report(reportFail, user)) }
func (e ctlEvents) succeed(user string) { e.w.Write(report(reportAuth, user)) }
func (e ctlEvents) timedOut()           { e.w.Write([]byte{reportTimeout}) }

// report encodes a report about user.
func report(kind byte, user string) []byte {
	if len(user) > maxReportUser {
		user = user[:maxReportUser]
	}
	return append([]byte{kind, byte(len(user))}, user...)
}
