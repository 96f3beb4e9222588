package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/crypto/ssh"

	"simplecloud/internal/gate"
)

// Exit statuses of the unlock command, as `simplecloud unlock` has them.
const (
	unlockOK      = 0 // unlocked
	unlockFailed  = 1 // any other failure, or a refused request
	unlockWrong   = 2 // wrong passphrase, and no right one followed
	unlockAlready = 4 // another prompt unlocked it first
)

// Lines the unlock command answers with, one per attempt, on its stdout;
// `simplecloud unlock --remote` reads them.
const (
	UnlockedLine     = "unlocked"
	UnlockWrongLine  = "wrong passphrase"
	UnlockAlreadyMsg = "already unlocked"
)

// maxPassphrase bounds a passphrase line.
const maxPassphrase = 4096

// unlockSession is one session channel of the unlock mode.
type unlockSession struct {
	ch   ssh.Channel
	log  *slog.Logger
	addr string
	key  string // the key's fingerprint
	pty  bool
}

// session serves the requests of one session channel of the unlock mode:
// exec "unlock" runs the unlock command; a pty is noted (the prompt then
// reads raw keys, without echo); every other command, the shell and every
// subsystem (sftp, simplecloud-sync) are told that only unlock is offered.
func (u *unlocker) session(ctx context.Context, s *unlockSession, reqs <-chan *ssh.Request) {
	defer func() { go ssh.DiscardRequests(reqs) }()
	defer s.ch.Close()
	for {
		var req *ssh.Request
		var ok bool
		select {
		case req, ok = <-reqs:
		case <-u.m.Gate.Done():
			s.exit(s.ended(u.m.Gate.Err()))
			return
		}
		if !ok {
			return
		}
		switch req.Type {
		case "pty-req":
			s.pty = true
			req.Reply(true, nil)
		case "exec", "shell", "subsystem":
			req.Reply(true, nil)
			what := req.Type
			if req.Type != "shell" {
				var p struct{ Value string }
				ssh.Unmarshal(req.Payload, &p)
				what = req.Type + " " + p.Value
				if req.Type == "exec" && strings.TrimSpace(p.Value) == "unlock" {
					s.exit(u.unlock(ctx, s))
					return
				}
			}
			s.log.Info("unlock mode refused a request", "request", what)
			io.WriteString(s.ch.Stderr(), s.nl(unlockOnly))
			s.exit(unlockFailed)
			return
		default:
			req.Reply(false, nil)
		}
	}
}

// exit sends the exit status.
func (s *unlockSession) exit(code uint32) {
	s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
}

// nl turns line ends into CR LF for a client terminal in raw mode.
func (s *unlockSession) nl(text string) string {
	if !s.pty {
		return text
	}
	return strings.ReplaceAll(text, "\n", "\r\n")
}

// say writes a line to the session's stdout.
func (s *unlockSession) say(format string, args ...any) {
	io.WriteString(s.ch, s.nl(fmt.Sprintf(format, args...)+"\n"))
}

// unlock asks for passphrases on the channel and tries each through the
// gate until one opens the volume, the tries are used up, another prompt
// wins, or the client gives up. It returns the exit status.
func (u *unlocker) unlock(ctx context.Context, s *unlockSession) uint32 {
	lines := make(chan []byte)
	go s.readLines(lines)
	defer func() {
		// The reader ends when the channel closes; drop what it still has.
		go func() {
			for l := range lines {
				clear(l)
			}
		}()
	}()
	source := fmt.Sprintf("ssh %s from %s", s.key, s.addr)
	wrong := false
	for {
		fmt.Fprintf(s.ch.Stderr(), "Passphrase for %s: ", u.m.Volume)
		var line []byte
		var ok bool
		select {
		case <-u.m.Gate.Done():
			return s.ended(u.m.Gate.Err())
		case <-ctx.Done():
			s.say("the server is stopping")
			return unlockFailed
		case line, ok = <-lines:
		}
		if s.pty {
			io.WriteString(s.ch.Stderr(), "\r\n")
		}
		if !ok {
			if wrong {
				return unlockWrong
			}
			s.say("no passphrase given")
			return unlockFailed
		}
		a, err := u.m.Gate.Try(ctx, source, line)
		clear(line)
		result := "unlocked"
		switch {
		case err == nil:
		case errors.Is(err, gate.ErrWrong):
			result = "wrong passphrase"
		default:
			result = err.Error()
		}
		s.log.Info("remote unlock attempt", "result", result, "failures", a.Failures, "tries_left", a.Left)
		switch {
		case err == nil:
			s.say("%s: the data volume is open; new connections are served", UnlockedLine)
			return unlockOK
		case errors.Is(err, gate.ErrExhausted) && errors.Is(err, gate.ErrWrong):
			s.say("%s: no tries left", UnlockWrongLine)
			return unlockWrong
		case errors.Is(err, gate.ErrWrong):
			wrong = true
			if a.Left > 0 {
				s.say("%s (%d tries left)", UnlockWrongLine, a.Left)
			} else {
				s.say("%s", UnlockWrongLine)
			}
		case errors.Is(err, gate.ErrUnlocked), errors.Is(err, gate.ErrExhausted):
			return s.ended(err)
		default:
			s.say("unlock failed: %v", err)
			return unlockFailed
		}
	}
}

// ended tells the client that the asking ended elsewhere.
func (s *unlockSession) ended(err error) uint32 {
	if err != nil && !errors.Is(err, gate.ErrUnlocked) {
		s.say("%s: %v", UnlockWrongLine, err)
		return unlockWrong
	}
	s.say("%s", UnlockAlreadyMsg)
	return unlockAlready
}

// readLines reads passphrase lines from the channel until it ends. With a
// pty the client's terminal is raw: Enter is CR, backspace erases, ^C and
// ^D end the input. A line longer than maxPassphrase ends it too.
func (s *unlockSession) readLines(out chan<- []byte) {
	defer close(out)
	buf := make([]byte, 256)
	// Room for the longest line, so that no copy of it is left behind
	// by a growing slice.
	line := make([]byte, 0, maxPassphrase)
	defer func() { clear(buf); clear(line) }()
	for {
		n, err := s.ch.Read(buf)
		for _, c := range buf[:n] {
			switch {
			case c == '\n' || (s.pty && c == '\r'):
				if !s.pty && len(line) > 0 && line[len(line)-1] == '\r' {
					line = line[:len(line)-1]
				}
				out <- line
				line = make([]byte, 0, maxPassphrase)
			case s.pty && (c == 0x7f || c == 0x08):
				if len(line) > 0 {
					line[len(line)-1] = 0
					line = line[:len(line)-1]
				}
			case s.pty && (c == 0x03 || c == 0x04):
				return
			case len(line) >= maxPassphrase:
				return
			default:
				line = append(line, c)
			}
		}
		if err != nil {
			return
		}
	}
}
