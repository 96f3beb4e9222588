package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"simplecloud/internal/testutil"
)

// configFile writes a server configuration for a test and returns the
// serve flag that reads it.
func configFile(t *testing.T, body string) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "server.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", p}
}

// sftpFrom is sftp from the local address from (another source than
// 127.0.0.1 on loopback), with extra client options.
func (s *server) sftpFrom(t *testing.T, from, user, key, batch string, extra ...string) (string, error) {
	t.Helper()
	bf := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(s.sshArgs(key, "-P"), "-o", "BindAddress="+from, "-b", bf)
	args = append(append(args, extra...), user+"@127.0.0.1")
	out, err := exec.CommandContext(ctx, "sftp", args...).CombinedOutput()
	return string(out), err
}

// dialFrom opens a TCP connection to s from the local address from.
func (s *server) dialFrom(t *testing.T, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", "127.0.0.1:"+s.port)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantPenalty checks that a new connection from 127.0.0.1 is refused for
// a penalty of kind, and that the log says so; when names the cause.
func (s *server) wantPenalty(t *testing.T, kind, when string) {
	t.Helper()
	c := s.dialFrom(t, "127.0.0.1")
	defer c.Close()
	if admitted(c) {
		t.Errorf("%s: got admitted, want refused for a %s penalty", when, kind)
	}
	s.waitLog(t, "penalty ("+kind+")")
}

// admitted reports whether the server took c: whether c gets the
// server's identification line within a few seconds, rather than being
// closed at once.
func admitted(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// TestIdleFlood holds 120 connections from 127.0.0.1 open that send
// nothing or only an identification line, and checks that a user on
// 127.0.0.2 still logs in within a second. Before the per-source cap, the
// flood took every one of the 100 slots for unauthenticated connections,
// for the 60 seconds of the login grace time.
func TestIdleFlood(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)
	start := time.Now()
	s.mustSFTP(t, u.name, u.key, "ls\n") // records the host key
	t.Logf("login without a flood: %v", time.Since(start).Round(time.Millisecond))

	var mu sync.Mutex
	var wg sync.WaitGroup
	taken := 0
	for i := range 120 {
		c := s.dialFrom(t, "127.0.0.1")
		defer c.Close()
		if i%5 == 4 {
			io.WriteString(c, "SSH-2.0-flood\r\n")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if admitted(c) {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("flood: the server took %d of 120 idle connections from 127.0.0.1", taken)

	start = time.Now()
	out, err := s.sftpFrom(t, "127.0.0.2", u.name, u.key, "ls\n")
	took := time.Since(start)
	t.Logf("login from 127.0.0.2 during the flood: %v (%v)", took.Round(time.Millisecond), err)
	if err != nil {
		t.Fatalf("login from 127.0.0.2 during the flood: %v\n%s", err, out)
	}
	if took > time.Second {
		t.Errorf("login from 127.0.0.2 during the flood took %v, want under a second", took)
	}
	s.waitLog(t, "too many unauthenticated connections from the source")
}

// TestHTTPRequest checks that a connection whose first line is no SSH
// identification, here an HTTP request, is told so and closed at once,
// as sshd does; before, the server waited for an SSH line for the whole
// login grace time.
func TestHTTPRequest(t *testing.T) {
	needRoot(t)
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)
	c := s.dialFrom(t, "127.0.0.1")
	defer c.Close()
	start := time.Now()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	took := time.Since(start)
	t.Logf("HTTP request answered and closed in %v", took.Round(time.Microsecond))
	if err != nil || !strings.Contains(string(got), "Invalid SSH identification string.\r\n") {
		t.Fatalf("got %q, %v; want the server's line, \"Invalid SSH identification string.\" and EOF", got, err)
	}
	if took > 500*time.Millisecond {
		t.Errorf("closed after %v, want at once", took)
	}
	s.waitLog(t, `invalid SSH identification string (not SSH-2.0): \"GET / HTTP/1.1`)
}

// TestBackoffPerUser checks that one user's good login does not clear
// another user's failures from the same address: before, it wiped the
// address's record, and the guesses went on un-throttled.
func TestBackoffPerUser(t *testing.T) {
	needRoot(t)
	alice, bob := newUser(t, ""), newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil, "--backoff-after", "4")
	s.mustSFTP(t, alice.name, alice.key, "ls\n")
	w1, w2, w3 := newKey(t), newKey(t), newKey(t)
	guess := func() {
		// Three wrong keys: three failed attempts.
		if out, err := s.sftpFrom(t, "127.0.0.1", bob.name, w1, "ls\n", "-i", w2, "-i", w3); err == nil {
			t.Fatalf("bob with wrong keys: got success %q", out)
		}
	}
	guess()
	if out, err := s.sftp(t, alice.name, alice.key, "ls\n"); err != nil {
		t.Fatalf("alice after bob's 3 failures (back-off after 4): %v\n%s", err, out)
	}
	guess() // 6 of bob's: a wait of 4s
	if out, err := s.sftp(t, alice.name, alice.key, "ls\n"); err == nil {
		t.Fatalf("alice after bob's 6 failures: got success %q, want refused for back-off", out)
	}
	s.waitLog(t, "back-off after failed logins")
	if out, err := s.sftpFrom(t, "127.0.0.2", alice.name, alice.key, "ls\n"); err != nil {
		t.Errorf("alice from another address: %v\n%s", err, out)
	}
}

// TestPenalties checks that connections that end without authenticating
// earn their source a penalty: it is refused, then taken again once the
// penalty has run out, and other sources are not affected. A connection
// child that crashes before authentication earns the crash penalty.
func TestPenalties(t *testing.T) {
	needRoot(t)
	t.Run("noauth", func(t *testing.T) {
		s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil,
			configFile(t, `per_source_penalties = "noauth:2s min:3s max:10s"`)...)
		probes := 0
		testutil.Eventually(t, 20*time.Second, func() error {
			c := s.dialFrom(t, "127.0.0.1")
			ok := admitted(c)
			c.Close()
			if !ok {
				return nil
			}
			probes++
			return fmt.Errorf("%d connections closed without authenticating: never refused", probes)
		})
		refused := time.Now()
		t.Logf("refused after %d connections that never authenticated", probes)
		s.waitLog(t, "penalty (noauth)")
		s.waitLog(t, "source penalised")
		c := s.dialFrom(t, "127.0.0.2")
		if !admitted(c) {
			t.Error("127.0.0.2 during 127.0.0.1's penalty: refused, want admitted")
		}
		c.Close()
		testutil.Eventually(t, 20*time.Second, func() error {
			c := s.dialFrom(t, "127.0.0.1")
			ok := admitted(c)
			c.Close()
			if !ok {
				return errors.New("still refused after 20s; the penalty is at most 10s")
			}
			return nil
		})
		if d := time.Since(refused); d < time.Second {
			t.Errorf("taken again after %v, want the penalty (over 3s) served", d)
		} else {
			t.Logf("taken again %v after the first refusal", d.Round(time.Millisecond))
		}
	})
	t.Run("crash", func(t *testing.T) {
		s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)
		c := s.dialFrom(t, "127.0.0.1")
		defer c.Close()
		if !admitted(c) {
			t.Fatal("first connection refused")
		}
		kids := childrenOf(t, s.cmd.Process.Pid)
		if len(kids) != 1 {
			t.Fatalf("connection children: got %v, want one", kids)
		}
		syscall.Kill(kids[0], syscall.SIGSEGV)
		s.waitLog(t, "connection child crashed")
		s.waitLog(t, "source penalised")
		s.wantPenalty(t, "crash", "after a crash (crash:90s is past min:15s)")
	})
}

// childrenOf lists the child processes of pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(w)
			kids = append(kids, n)
		}
	}
	return kids
}

// TestPreauthTimers checks the two limits before authentication: the
// identification and key exchange must be over within kex_timeout, and
// authentication within login_grace_time; a connection that runs out of
// either is closed and earns its source the grace-exceeded penalty.
func TestPreauthTimers(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil,
		configFile(t, "kex_timeout = \"1s\"\nlogin_grace_time = \"3s\"")...)
	s.mustSFTP(t, u.name, u.key, "ls\n")

	// An identification line, then nothing.
	c := s.dialFrom(t, "127.0.0.1")
	defer c.Close()
	start := time.Now()
	io.WriteString(c, "SSH-2.0-idle\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("idle after identification: %v, want closed", err)
	}
	if took := time.Since(start); took < 800*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("idle after identification: closed after %v, want kex_timeout (1s)", took)
	}
	s.waitLog(t, "kex_timeout exceeded before authentication")

	// The key exchange done, a client that never gets to authenticate is
	// held to login_grace_time, not kex_timeout.
	nc := &watchConn{Conn: s.dialFrom(t, "127.0.0.1"), closed: make(chan struct{})}
	defer nc.Close()
	start = time.Now()
	go ssh.NewClientConn(nc, "127.0.0.1", &ssh.ClientConfig{
		User: u.name, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			<-nc.closed // stuck until the server gives up
			return nil, io.EOF
		})},
	})
	select {
	case <-nc.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("client stuck in authentication: still connected after 10s")
	}
	if took := time.Since(start); took < 2500*time.Millisecond || took > 6*time.Second {
		t.Errorf("client stuck in authentication: closed after %v, want login_grace_time (3s)", took)
	}
	s.waitLog(t, "login_grace_time exceeded before authentication")

	// Two grace-exceeded penalties (10s each) pass min (15s).
	s.waitLog(t, "refused=true")
	s.wantPenalty(t, "grace-exceeded", "after two timeouts")
}

// watchConn is a connection that closes closed when a read fails.
type watchConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (w *watchConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if err != nil {
		w.once.Do(func() { close(w.closed) })
	}
	return n, err
}
