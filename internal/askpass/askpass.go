// Package askpass asks for a passphrase through systemd's password agents
// (https://systemd.io/PASSWORD_AGENTS/): it drops an ask.XXXX file into
// the agents' directory (/run/systemd/ask-password) naming a datagram
// socket of its own, and waits for an agent's answer on it: "+" and the
// passphrase, or "-" when the user cancelled. systemd's agents then ask
// wherever the user is: systemd-tty-ask-password-agent on the console (and
// so on a serial console), wall messages to logged-in users, plymouth.
//
// We write the protocol ourselves because it is small (an ini file and a
// datagram) and the alternative, running systemd-ask-password, would put a
// helper program and its output between us and the passphrase.
package askpass

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is where systemd's agents look for questions.
const Dir = "/run/systemd/ask-password"

// ErrCancelled is returned when an agent answered that the user cancelled.
var ErrCancelled = errors.New("cancelled at the password agent")

// maxAnswer bounds an answer datagram.
const maxAnswer = 4096

// Question is one request to the agents.
type Question struct {
	Dir     string // the agents' directory; Dir on a real system
	Message string // one line, shown to the user
	Icon    string // optional
	ID      string // optional: "subsystem:detail", for agents that tell requests apart
	// AnyUID accepts answers from any user; by default only root's count,
	// as the agents run as root (an unprivileged one answers through
	// pkexec systemd-reply-password).
	AnyUID bool
}

// Ask asks q and waits for an answer until ctx ends; a deadline of ctx is
// the question's NotAfter, after which agents ignore it. The returned
// slice belongs to the caller, which zeroes it.
func Ask(ctx context.Context, q Question) ([]byte, error) {
	if strings.ContainsAny(q.Message+q.Icon+q.ID, "\n\r") {
		return nil, errors.New("ask password: the message must be one line")
	}
	id := randomID()
	sock := filepath.Join(q.Dir, "sck."+id)
	conn, err := listen(sock)
	if err != nil {
		return nil, err
	}
	defer os.Remove(sock)
	defer conn.Close()
	notAfter, err := notAfter(ctx)
	if err != nil {
		return nil, err
	}
	ask := filepath.Join(q.Dir, "ask."+id)
	if err := writeAsk(ask, q, sock, notAfter); err != nil {
		return nil, err
	}
	defer os.Remove(ask)
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	return receive(ctx, conn, q.AnyUID)
}

// listen makes the answer socket, with SO_PASSCRED so that the kernel
// tells who sent each answer.
func listen(path string) (*net.UnixConn, error) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("ask password: %w", err)
	}
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		conn.Close()
		os.Remove(path)
		return nil, fmt.Errorf("ask password: SO_PASSCRED: %w", err)
	}
	return conn, nil
}

// notAfter is ctx's deadline in CLOCK_MONOTONIC microseconds, as the
// agents compare it; 0 when there is none.
func notAfter(ctx context.Context) (uint64, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("ask password: clock: %w", err)
	}
	now := uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3
	return now + uint64(max(time.Until(d), time.Microsecond).Microseconds()), nil
}

// AskFile is the ask file's text for q.
func AskFile(q Question, socket string, notAfter uint64, pid int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Ask]\nPID=%d\nSocket=%s\nAcceptCached=0\nEcho=0\nNotAfter=%d\nMessage=%s\n", pid, socket, notAfter, q.Message)
	if q.Icon != "" {
		fmt.Fprintf(&b, "Icon=%s\n", q.Icon)
	}
	if q.ID != "" {
		fmt.Fprintf(&b, "Id=%s\n", q.ID)
	}
	return b.String()
}

// writeAsk writes the ask file through a temporary name, so that agents,
// which watch for files closed after writing or moved in, see it whole.
func writeAsk(path string, q Question, socket string, notAfter uint64) error {
	tmp := filepath.Join(filepath.Dir(path), ".tmp."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(AskFile(q, socket, notAfter, os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("ask password: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ask password: %w", err)
	}
	return nil
}

// receive waits for an answer from an agent. Datagrams from other users
// (unless anyUID) and malformed ones are ignored.
func receive(ctx context.Context, conn *net.UnixConn, anyUID bool) ([]byte, error) {
	buf := make([]byte, maxAnswer+1)
	defer clear(buf)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("ask password: %w", err)
		}
		if n == 0 || n > maxAnswer || (!anyUID && !fromRoot(oob[:oobn])) {
			continue
		}
		switch buf[0] {
		case '+':
			// Newer agents may send several passphrases, each ended by
			// NUL: the first is the answer.
			pass := buf[1:n]
			if i := bytes.IndexByte(pass, 0); i >= 0 {
				pass = pass[:i]
			}
			return append([]byte(nil), pass...), nil
		case '-':
			return nil, ErrCancelled
		}
	}
}

// fromRoot reports whether the control messages say root sent the datagram.
func fromRoot(oob []byte) bool {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			return cred.Uid == 0
		}
	}
	return false
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
