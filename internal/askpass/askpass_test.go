package askpass

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// agent plays a password agent on dir: it waits for an ask file, parses
// it and sends reply to its socket. It returns the ask file's keys.
func agent(t *testing.T, dir string, reply string) <-chan map[string]string {
	t.Helper()
	out := make(chan map[string]string, 1)
	go func() {
		var keys map[string]string
		err := testutil.Poll(10*time.Second, func() error {
			m, _ := filepath.Glob(filepath.Join(dir, "ask.*"))
			if len(m) == 0 {
				return errors.New("no ask file")
			}
			b, err := os.ReadFile(m[0])
			if err != nil {
				return err
			}
			keys = parseIni(string(b))
			return nil
		})
		if err != nil {
			out <- nil
			return
		}
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: keys["Socket"], Net: "unixgram"})
		if err == nil {
			c.Write([]byte(reply))
			c.Close()
		}
		out <- keys
	}()
	return out
}

func parseIni(s string) map[string]string {
	keys := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			keys[k] = v
		}
	}
	if strings.HasPrefix(s, "[Ask]\n") {
		keys["[section]"] = "Ask"
	}
	return keys
}

// question is a Question in dir that accepts answers from the test's own
// uid when it is not root.
func question(dir string) Question {
	return Question{Dir: dir, Message: "Passphrase for simplecloud (disk)", ID: "simplecloud:test", AnyUID: os.Geteuid() != 0}
}

func TestAnswered(t *testing.T) {
	cases := []struct {
		name, reply, want string
		err               error
	}{
		{"passphrase", "+correct horse", "correct horse", nil},
		{"several, NUL-ended", "+first\x00second\x00", "first", nil},
		{"empty passphrase", "+", "", nil},
		{"cancelled", "-", "", ErrCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			keys := agent(t, dir, c.reply)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			got, err := Ask(ctx, question(dir))
			if !errors.Is(err, c.err) || string(got) != c.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, c.want, c.err)
			}
			k := <-keys
			if k == nil {
				t.Fatal("the agent saw no ask file")
			}
			want := map[string]string{"[section]": "Ask", "Message": "Passphrase for simplecloud (disk)", "AcceptCached": "0",
				"Echo": "0", "Id": "simplecloud:test", "PID": strconv.Itoa(os.Getpid())}
			for key, v := range want {
				if k[key] != v {
					t.Errorf("ask file %s=%q, want %q", key, k[key], v)
				}
			}
			if !strings.HasPrefix(k["Socket"], filepath.Join(dir, "sck.")) || k["NotAfter"] == "0" || k["NotAfter"] == "" {
				t.Errorf("ask file Socket=%q NotAfter=%q: want a socket in %s and a deadline", k["Socket"], k["NotAfter"], dir)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("left behind in the agents' directory: %v", left)
			}
		})
	}
}

// TestTimeout: with nobody answering, Ask ends with its context and
// cleans up; without a deadline NotAfter is 0.
func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := Ask(ctx, question(dir))
		res <- err
	}()
	testutil.Eventually(t, 10*time.Second, func() error {
		m, _ := filepath.Glob(filepath.Join(dir, "ask.*"))
		if len(m) == 0 {
			return errors.New("no ask file")
		}
		b, _ := os.ReadFile(m[0])
		if k := parseIni(string(b)); k["NotAfter"] != "0" {
			return errors.New("NotAfter=" + k["NotAfter"] + ", want 0")
		}
		return nil
	})
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestOnlyRoot: a datagram whose credentials are not root's does not count.
func TestOnlyRoot(t *testing.T) {
	cases := []struct {
		uid  uint32
		want bool
	}{{0, true}, {1000, false}}
	for _, c := range cases {
		oob := unix.UnixCredentials(&unix.Ucred{Pid: 1, Uid: c.uid, Gid: 0})
		if got := fromRoot(oob); got != c.want {
			t.Errorf("fromRoot(uid %d) = %v, want %v", c.uid, got, c.want)
		}
	}
	if fromRoot(nil) {
		t.Error("fromRoot(no credentials) = true, want false")
	}
}

// TestSystemdAgent has systemd's own systemd-tty-ask-password-agent
// --query answer, typed on a terminal that script(1) makes. The agent
// only looks in the real directory, so this needs root.
func TestSystemdAgent(t *testing.T) {
	testutil.NeedRoot(t, "systemd-tty-ask-password-agent", "script")
	if _, err := os.Stat(Dir); err != nil {
		t.Skipf("no %s: %v", Dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := Question{Dir: Dir, Message: "SimpleCloud test passphrase " + randomID()}
	res := make(chan []byte, 1)
	errs := make(chan error, 1)
	go func() {
		b, err := Ask(ctx, q)
		res <- b
		errs <- err
	}()
	testutil.Eventually(t, 10*time.Second, func() error {
		m, _ := filepath.Glob(filepath.Join(Dir, "ask.*"))
		for _, f := range m {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), q.Message) {
				return nil
			}
		}
		return errors.New("no ask file yet")
	})
	cmd := exec.CommandContext(ctx, "script", "-qfec", "systemd-tty-ask-password-agent --query", "/dev/null")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	seen := make(chan string, 1)
	go func() {
		var acc []byte
		buf := make([]byte, 256)
		for {
			n, err := out.Read(buf)
			acc = append(acc, buf[:n]...)
			if strings.Contains(string(acc), q.Message) {
				seen <- string(acc)
				io.Copy(io.Discard, out)
				return
			}
			if err != nil {
				seen <- string(acc)
				return
			}
		}
	}()
	if s := <-seen; !strings.Contains(s, q.Message) {
		t.Fatalf("the agent did not show the question; its output: %q", s)
	}
	io.WriteString(in, "agent's answer\r")
	if got, err := <-res, <-errs; err != nil || string(got) != "agent's answer" {
		t.Errorf("got %q, %v; want the typed passphrase", got, err)
	}
	cmd.Wait()
}

// TestSystemdAgentStops: when the question is withdrawn (another prompt
// won), systemd's agent stops asking on its terminal.
func TestSystemdAgentStops(t *testing.T) {
	testutil.NeedRoot(t, "systemd-tty-ask-password-agent", "script")
	if _, err := os.Stat(Dir); err != nil {
		t.Skipf("no %s: %v", Dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := Question{Dir: Dir, Message: "SimpleCloud test passphrase " + randomID()}
	errs := make(chan error, 1)
	go func() {
		_, err := Ask(ctx, q)
		errs <- err
	}()
	testutil.Eventually(t, 10*time.Second, func() error {
		m, _ := filepath.Glob(filepath.Join(Dir, "ask.*"))
		for _, f := range m {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), q.Message) {
				return nil
			}
		}
		return errors.New("no ask file yet")
	})
	cmd := exec.Command("script", "-qfec", "systemd-tty-ask-password-agent --query", "/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	in, _ := cmd.StdinPipe()
	defer in.Close()
	var out strings.Builder
	r, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	shown := make(chan struct{})
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := r.Read(buf)
			out.Write(buf[:n])
			if strings.Contains(out.String(), q.Message) {
				close(shown)
				io.Copy(io.Discard, r)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-shown:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not show the question")
	}
	cancel() // another prompt won
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("Ask: got %v, want context.Canceled", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Error("systemd's agent still asks after the question was withdrawn")
	}
}
