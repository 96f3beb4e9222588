package prompt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// echoOn reports whether the terminal f echoes input.
func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

func TestIsTerminal(t *testing.T) {
	_, slave := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, c := range []struct {
		name string
		v    any
		want bool
	}{
		{"pty", slave, true},
		{"pipe", r, false},
		{"buffer", &bytes.Buffer{}, false},
		{"nil", nil, false},
	} {
		if got := IsTerminal(c.v); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestReadLine(t *testing.T) {
	for _, c := range []struct {
		in, want, rest string
		err            error
	}{
		{"abc\ndef\n", "abc", "def\n", nil},
		{"abc\r\nx", "abc", "x", nil},
		{"\n", "", "", nil},
		{"no newline", "no newline", "", io.EOF},
		{"", "", "", io.EOF},
	} {
		r := strings.NewReader(c.in)
		got, err := ReadLine(r)
		rest, _ := io.ReadAll(r)
		if string(got) != c.want || err != c.err || string(rest) != c.rest {
			t.Errorf("ReadLine(%q): got %q, %v, rest %q; want %q, %v, rest %q", c.in, got, err, rest, c.want, c.err, c.rest)
		}
	}
}

// TestQuestionsFromAPipe: answers come one line each, and a question never
// eats the answer to the next one.
func TestQuestionsFromAPipe(t *testing.T) {
	var out bytes.Buffer
	p := Prompter{In: strings.NewReader("sda\nYES\ny\nsecret\n\n"), Out: &out}
	if err := p.ConfirmName("sda (8 GiB)", "sda"); err != nil {
		t.Errorf("ConfirmName: %v", err)
	}
	if err := p.ConfirmYES("This will overwrite data."); err != nil {
		t.Errorf("ConfirmYES: %v", err)
	}
	if !p.YesNo("Proceed? ") {
		t.Error("YesNo: got no, want yes")
	}
	if got, err := p.NewPassphrase("Enter passphrase: "); err != nil || string(got) != "secret" {
		t.Errorf("NewPassphrase: got %q, %v; want secret (asked once: not a terminal)", got, err)
	}
	if _, err := p.NewPassphrase("Enter passphrase: "); err == nil {
		t.Error("NewPassphrase of an empty line: got no error")
	}
	if _, err := p.Passphrase("Enter passphrase: "); err == nil {
		t.Error("Passphrase at the end of input: got no error")
	}
	for _, q := range []string{"This destroys everything on sda (8 GiB).\nType sda to confirm: ", "Are you sure? (Type 'yes' in capital letters): ", "Proceed? "} {
		if !strings.Contains(out.String(), q) {
			t.Errorf("output %q lacks %q", out.String(), q)
		}
	}
}

func TestRefusals(t *testing.T) {
	ask := func(in string) Prompter { return Prompter{In: strings.NewReader(in), Out: io.Discard} }
	for _, in := range []string{"sdb\n", "SDA\n", "\n", ""} {
		if err := ask(in).ConfirmName("sda", "sda"); err == nil {
			t.Errorf("ConfirmName with %q: got no error", in)
		}
	}
	for _, in := range []string{"yes\n", "Y\n", ""} {
		if err := ask(in).ConfirmYES("w"); err == nil {
			t.Errorf("ConfirmYES with %q: got no error", in)
		}
	}
	for in, want := range map[string]bool{"y\n": true, " YES \n": true, "Yes": true, "n\n": false, "\n": false, "": false, "yep\n": false} {
		if got := ask(in).YesNo("? "); got != want {
			t.Errorf("YesNo with %q: got %v, want %v", in, got, want)
		}
	}
}

// TestNewPassphraseOnATerminal: a terminal is asked twice, without echo,
// and a mismatch is refused.
func TestNewPassphraseOnATerminal(t *testing.T) {
	for _, c := range []struct {
		typed string
		ok    bool
	}{{"pw1\npw1\n", true}, {"pw1\npw2\n", false}} {
		master, slave := openPTY(t)
		go io.Copy(io.Discard, master) // nothing is echoed back, but drain
		if _, err := master.WriteString(c.typed); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		got, err := Prompter{In: slave, Out: &out}.NewPassphrase("Enter passphrase: ")
		if c.ok != (err == nil) || c.ok && string(got) != "pw1" {
			t.Errorf("typed %q: got %q, %v; want ok %v", c.typed, got, err, c.ok)
		}
		if !strings.Contains(out.String(), "Verify passphrase: ") {
			t.Errorf("typed %q: got prompts %q, want a verification", c.typed, out.String())
		}
	}
}

// TestPassphraseContext: echo is off while asking and on again afterwards,
// a carriage return ends the line, and a deadline gives up.
func TestPassphraseContext(t *testing.T) {
	master, slave := openPTY(t)
	if !echoOn(t, slave) {
		t.Fatal("a new pty does not echo")
	}
	echoed := make(chan []byte, 1)
	go func() {
		b := make([]byte, 256)
		n, _ := master.Read(b)
		echoed <- b[:n]
	}()
	p := Prompter{In: slave, Out: io.Discard}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, err := p.PassphraseContext(context.Background(), "Enter passphrase: ")
		if err != nil || string(got) != "hunter2" {
			t.Errorf("got %q, %v; want hunter2", got, err)
		}
	}()
	testutil.Eventually(t, 5*time.Second, func() error {
		if echoOn(t, slave) {
			return errors.New("echo still on while asking")
		}
		return nil
	})
	master.WriteString("hunter2\r")
	<-done
	if !echoOn(t, slave) {
		t.Error("echo still off after the answer")
	}
	master.WriteString("x") // echoed now, so the reader above returns
	if b := <-echoed; bytes.Contains(b, []byte("hunter2")) {
		t.Errorf("the terminal echoed %q, want the passphrase hidden", b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.PassphraseContext(ctx, "Enter passphrase: "); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline", err)
	}
	if !echoOn(t, slave) {
		t.Error("echo still off after the deadline")
	}
}
