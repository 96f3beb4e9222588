package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"simplecloud/sync/server"
)

// remoteUnlock is what unlock --remote needs.
type remoteUnlock struct {
	dest     string   // [USER@]HOST
	port     int      // -p; 0: ssh's
	identity string   // -i
	options  []string // -o, passed to ssh
	ssh      string   // the ssh program; "ssh"
	keyFile  string   // --key-file: one passphrase, sent once
}

// argv is the ssh command line: ssh [-p PORT] [-i ID] [-o OPT]...
// DEST unlock. No passphrase is ever on it.
func (r remoteUnlock) argv() ([]string, error) {
	if r.dest == "" || strings.HasPrefix(r.dest, "-") {
		return nil, fmt.Errorf("--remote %q: want [USER@]HOST", r.dest)
	}
	if r.port < 0 || r.port > 65535 {
		return nil, fmt.Errorf("port %d out of range", r.port)
	}
	prog := r.ssh
	if prog == "" {
		prog = "ssh"
	}
	argv := []string{prog}
	if r.port != 0 {
		argv = append(argv, "-p", strconv.Itoa(r.port))
	}
	if r.identity != "" {
		argv = append(argv, "-i", r.identity)
	}
	for _, o := range r.options {
		argv = append(argv, "-o", o)
	}
	return append(argv, r.dest, "unlock"), nil
}

// remoteAnswer is what a line of the server's unlock command means.
type remoteAnswer int

const (
	answerOther    remoteAnswer = iota // a line to show, nothing more
	answerUnlocked                     // the volume is open
	answerWrong                        // wrong; it asks again
	answerNoTries                      // wrong, and no tries left
	answerAlready                      // another prompt won
)

// classify reads one line of the server's answers.
func classify(line string) remoteAnswer {
	switch {
	case strings.HasPrefix(line, server.UnlockedLine+":"):
		return answerUnlocked
	case strings.HasPrefix(line, server.UnlockWrongLine+":"):
		return answerNoTries
	case strings.HasPrefix(line, server.UnlockWrongLine):
		return answerWrong
	case strings.HasPrefix(line, server.UnlockAlreadyMsg):
		return answerAlready
	}
	return answerOther
}

// runRemoteUnlock runs the user's ssh to DEST's unlock command with pipes
// (no terminal on the server side): ssh's stderr, where the server's
// banner and prompt go, is the user's; each passphrase is read here (from
// the terminal without echo, or --key-file) and written to ssh's stdin;
// the server's answers are printed. The exit code is the server's: 0
// unlocked, 2 wrong passphrase, 4 already unlocked; 1 for anything else.
func runRemoteUnlock(ctx context.Context, a *app, r remoteUnlock) error {
	argv, err := r.argv()
	if err != nil {
		return usageError{err}
	}
	var key []byte
	if r.keyFile != "" {
		if key, err = luksReadKeyFile(a, r.keyFile); err != nil {
			return err
		}
		defer clear(key)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = a.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", argv[0], err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	answer := talkUnlock(ctx, a, in, lines, key)
	in.Close()
	for range lines {
	}
	err = cmd.Wait()
	return remoteExit(err, answer)
}

// talkUnlock sends passphrases and prints the answers until the server
// says the last word or hangs up; it returns the last answer.
func talkUnlock(ctx context.Context, a *app, in io.Writer, lines <-chan string, key []byte) remoteAnswer {
	type asked struct {
		pass []byte
		err  error
	}
	passes := make(chan asked, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fromFile := key != nil
	ask := func() {
		if fromFile {
			passes <- asked{pass: bytes.Clone(key)}
			return
		}
		go func() {
			p, err := a.ask().PassphraseContext(pctx, "")
			passes <- asked{p, err}
		}()
	}
	ask()
	last := answerOther
	for {
		select {
		case p := <-passes:
			if p.err != nil {
				return last
			}
			_, err := in.Write(append(p.pass, '\n'))
			clear(p.pass)
			if err != nil {
				return last
			}
		case l, ok := <-lines:
			if !ok {
				return last
			}
			if fromFile && last == answerOther {
				fmt.Fprintln(a.stderr) // after the server's prompt, which no one answered on the terminal
			}
			fmt.Fprintln(a.stdout, l)
			switch last = classify(l); last {
			case answerWrong:
				if fromFile {
					return last // the key file's passphrase is wrong: no other to give
				}
				ask()
			case answerUnlocked, answerNoTries, answerAlready:
				return last
			}
		}
	}
}

// remoteExit maps ssh's end to unlock's exit codes.
func remoteExit(err error, last remoteAnswer) error {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ee):
		return err
	}
	switch ee.ExitCode() {
	case exitAuth:
		return withExitCode(exitAuth, errors.New("wrong passphrase"))
	case exitAlreadyOpen:
		return withExitCode(exitAlreadyOpen, errors.New("the data volume was already unlocked"))
	case 255:
		return errors.New("ssh failed (see its message above)")
	}
	if last == answerWrong {
		return withExitCode(exitAuth, errors.New("wrong passphrase"))
	}
	return fmt.Errorf("remote unlock failed: %w", err)
}
