// Package prompt asks the person at the terminal: passphrases without echo
// (or one line of a pipe, as cryptsetup reads them), confirmations to type
// and yes/no questions. It also tells whether a stream is a terminal. Every
// command that asks goes through it, so they all read input the same way:
// one line at a time, byte by byte, never consuming what follows the line
// (a passphrase piped after a confirmation stays for the next question).
package prompt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Prompter asks its questions on Out (stderr, normally) and reads the
// answers from In (stdin). It is not safe for concurrent use.
type Prompter struct {
	In  io.Reader
	Out io.Writer
}

// IsTerminal reports whether v, a reader or writer, is a terminal.
func IsTerminal(v any) bool {
	_, ok := terminalFd(v)
	return ok
}

// terminalFd returns v's file descriptor when v is a file on a terminal.
func terminalFd(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return -1, false
	}
	return int(f.Fd()), true
}

// ReadLine reads one line from r, a byte at a time so that nothing after it
// is consumed, and returns it without the newline or a carriage return
// before it. At the end of the input it returns what it read and the error.
func ReadLine(r io.Reader) ([]byte, error) {
	var out []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return bytes.TrimSuffix(out, []byte("\r")), nil
			}
			out = append(out, b[0])
		}
		if err != nil {
			return out, err
		}
	}
}

// Passphrase asks for a passphrase with text: on a terminal without echo,
// else it reads one line of In, as cryptsetup does. The caller clears the
// result.
func (p Prompter) Passphrase(text string) ([]byte, error) {
	if fd, ok := terminalFd(p.In); ok {
		fmt.Fprint(p.Out, text)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(p.Out)
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		return b, nil
	}
	line, err := ReadLine(p.In)
	if err != nil && len(line) == 0 {
		return nil, fmt.Errorf("read passphrase from stdin: %w", err)
	}
	return line, nil
}

// NewPassphrase asks for a new passphrase with text, refuses an empty one
// and, on a terminal, asks again to verify it.
func (p Prompter) NewPassphrase(text string) ([]byte, error) {
	pass, err := p.Passphrase(text)
	if err != nil {
		return nil, err
	}
	if len(pass) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if IsTerminal(p.In) {
		again, err := p.Passphrase("Verify passphrase: ")
		if err != nil {
			clear(pass)
			return nil, err
		}
		defer clear(again)
		if !bytes.Equal(pass, again) {
			clear(pass)
			return nil, errors.New("passphrases do not match")
		}
	}
	return pass, nil
}

// ConfirmYES shows warning as cryptsetup does and wants YES typed in
// capitals.
func (p Prompter) ConfirmYES(warning string) error {
	fmt.Fprintf(p.Out, "\nWARNING!\n========\n%s\n\nAre you sure? (Type 'yes' in capital letters): ", warning)
	line, _ := ReadLine(p.In)
	if strings.TrimSpace(string(line)) != "YES" {
		return errors.New("operation aborted: confirmation was not YES")
	}
	return nil
}

// ConfirmName says that everything on what is destroyed and wants name
// typed; anything else is an error.
func (p Prompter) ConfirmName(what, name string) error {
	fmt.Fprintf(p.Out, "This destroys everything on %s.\nType %s to confirm: ", what, name)
	line, err := ReadLine(p.In)
	if err != nil && len(line) == 0 {
		return fmt.Errorf("read confirmation: %w", err)
	}
	if strings.TrimSpace(string(line)) != name {
		return errors.New("the name typed does not match; nothing was written")
	}
	return nil
}

// YesNo asks question; only "y" or "yes", in any case, is yes.
func (p Prompter) YesNo(question string) bool {
	fmt.Fprint(p.Out, question)
	line, _ := ReadLine(p.In)
	switch strings.ToLower(strings.TrimSpace(string(line))) {
	case "y", "yes":
		return true
	}
	return false
}

// PassphraseContext asks for a passphrase with text like Passphrase, but
// gives up when ctx ends, returning ctx's error. Echo is off before text
// shows, so nothing typed right after it appears, and it is back on when
// PassphraseContext returns, even while the read it gave up on still waits.
// A console's carriage return ends the line as a newline does.
func (p Prompter) PassphraseContext(ctx context.Context, text string) ([]byte, error) {
	restore, err := noEcho(p.In)
	if err != nil {
		return nil, err
	}
	defer restore()
	fmt.Fprint(p.Out, text)
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		b, err := ReadLine(p.In)
		if err != nil && len(b) > 0 {
			err = nil
		}
		ch <- answer{b, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(p.Out)
		return nil, ctx.Err()
	case ans := <-ch:
		fmt.Fprintln(p.Out)
		if ans.err != nil {
			clear(ans.b)
			return nil, ans.err
		}
		return ans.b, nil
	}
}
