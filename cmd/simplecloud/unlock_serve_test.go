package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"simplecloud/internal/testutil"
	"simplecloud/luks"
	"simplecloud/provision"
)

// TestMain lets this test binary be the server's connection child (the
// server starts /proc/self/exe ... serve-conn for each connection it
// serves after the unlock), and simplecloud itself for a test that runs
// it on a terminal.

// These tests run unlock --serve in this process with the console prompt
// reading a pipe, real users and groups, and the real OpenSSH ssh and
// sftp. The volume-opening step accepts one test passphrase: the real
// LUKS open, with dm-crypt, is what the VM unlock tests cover.

const testPass = "correct horse battery staple"

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testOpener accepts testPass.
type testOpener struct {
	mu     sync.Mutex
	opens  int
	opened bool // by another program
}

func (o *testOpener) Locked(context.Context) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.opened, nil
}

func (o *testOpener) Open(_ context.Context, p []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens++
	if string(p) == testPass {
		return nil
	}
	return fmt.Errorf("unlock: %w", luks.ErrWrongKey)
}

// unlockHost is a running unlock --serve.
type unlockHost struct {
	console    io.WriteCloser // the console's stdin
	stdout     *lockedBuffer
	stderr     *lockedBuffer
	logs       *lockedBuffer
	port       string
	knownHosts string
	group      string
	done       chan error
	stop       context.CancelFunc
	opener     *testOpener
}

func runLocked(t *testing.T, name string, args ...string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, func() error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%s %v: %v: %s", name, args, err, out)
		if !strings.Contains(string(out), "cannot lock") {
			t.Fatal(err)
		}
		return err
	})
}

func randName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// startUnlockHost runs unlock --serve with tries tries and the console
// prompt on a pipe.
func startUnlockHost(t *testing.T, tries int) *unlockHost {
	t.Helper()
	return startUnlockHostWith(t, tries, nil)
}

// startUnlockHostWith is startUnlockHost with the console's prompt made
// by console (nil: the terminal prompt, reading the pipe).
func startUnlockHostWith(t *testing.T, tries int, console func(*app, *provision.Config) provision.Prompter) *unlockHost {
	t.Helper()
	testutil.NeedRoot(t, "useradd", "userdel", "groupadd", "groupdel", "usermod", "ssh", "sftp", "ssh-keygen")
	h := &unlockHost{opener: &testOpener{}, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, logs: &lockedBuffer{}, done: make(chan error, 1),
		group: randName("sctadm-"), knownHosts: filepath.Join(t.TempDir(), "known_hosts")}
	runLocked(t, "groupadd", h.group)
	t.Cleanup(func() { exec.Command("groupdel", h.group).Run() })
	dir := t.TempDir()
	mount := filepath.Join(dir, "srv")
	if err := os.Mkdir(mount, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(dir), dir} {
		os.Chmod(p, 0o755) // the users reach their folders below
	}
	config := filepath.Join(dir, "simplecloud.toml")
	toml := fmt.Sprintf("[server]\nlisten = \"127.0.0.1:0\"\nhost_key_dir = %q\nshutdown_timeout = \"5s\"\n", filepath.Join(dir, "hostkeys"))
	if err := os.WriteFile(config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &provision.Config{
		Volume: provision.VolumeConfig{UUID: "test", Name: "simplecloud", Mount: mount, Disk: "test-disk"},
		Unlock: provision.UnlockConfig{Tries: tries, AdminGroup: h.group},
	}
	r, w := io.Pipe()
	h.console = w
	a := &app{stdin: r, stdout: h.stdout, stderr: h.stderr, logLevel: "debug", logFormat: "text",
		log: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	var p provision.Prompter = &consolePrompt{a: a, cfg: cfg}
	if console != nil {
		p = console(a, cfg)
	}
	go func() {
		h.done <- runUnlockServe(ctx, a, unlockServe{cfg: cfg, config: config, opener: h.opener,
			console: p, tries: tries})
	}()
	t.Cleanup(func() {
		cancel()
		w.Close()
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s\nlog:\n%s", h.stdout, h.stderr, h.logs)
		}
	})
	testutil.Eventually(t, 20*time.Second, func() error {
		for _, l := range strings.Split(h.stdout.String(), "\n") {
			if a, ok := strings.CutPrefix(l, "listening on "); ok {
				h.port = a[strings.LastIndex(a, ":")+1:]
				return nil
			}
		}
		select {
		case err := <-h.done:
			t.Fatalf("unlock --serve ended: %v", err)
		default:
		}
		return errors.New("not listening yet")
	})
	return h
}

// admin makes a user in the admin group with a key; it returns the name
// and the private key's path.
func (h *unlockHost) admin(t *testing.T) (string, string) {
	t.Helper()
	name := randName("sct-")
	runLocked(t, "useradd", "-m", "-s", "/bin/sh", "-p", "*", "-G", h.group, name)
	t.Cleanup(func() {
		exec.Command("pkill", "-KILL", "-u", name).Run()
		exec.Command("userdel", "-r", name).Run()
	})
	home := "/home/" + name
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sshDir := filepath.Join(home, ".ssh")
	os.MkdirAll(sshDir, 0o700)
	if err := os.WriteFile(filepath.Join(sshDir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", name+":", sshDir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	return name, key
}

// sshOptions are the client options for the test's known_hosts.
func (h *unlockHost) sshOptions() []string {
	return []string{"IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=accept-new",
		"UserKnownHostsFile=" + h.knownHosts, "ConnectTimeout=20"}
}

// remote runs simplecloud unlock --remote NAME@127.0.0.1 in this process.
func (h *unlockHost) remote(t *testing.T, name, key string, stdin io.Reader, extra ...string) (int, string, string) {
	t.Helper()
	args := []string{"unlock", "--remote", name + "@127.0.0.1", "-p", h.port, "-i", key}
	for _, o := range append(h.sshOptions(), "UserKnownHostsFile="+h.knownHosts) {
		args = append(args, "-o", o)
	}
	var out, errb lockedBuffer
	code := run(append(args, extra...), stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func writeKey(t *testing.T, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(pass), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRemoteUnlockWins: simplecloud unlock --remote unlocks; the console
// prompt, still waiting, says the volume was unlocked remotely; the same
// port then serves sftp.
func TestRemoteUnlockWins(t *testing.T) {
	h := startUnlockHost(t, 3)
	name, key := h.admin(t)
	testutil.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.stderr.String(), "Enter passphrase for simplecloud (test-disk): ") {
			return errors.New("no console prompt yet")
		}
		return nil
	})
	code, out, errb := h.remote(t, name, key, strings.NewReader(""), "--key-file", writeKey(t, "wrong one"))
	if code != exitAuth || !strings.Contains(out, "wrong passphrase (2 tries left)") {
		t.Errorf("unlock --remote with a wrong key file: got exit %d\n%s%s\nwant %d", code, out, errb, exitAuth)
	}
	code, out, errb = h.remote(t, name, key, strings.NewReader(""), "--key-file", writeKey(t, testPass))
	if code != exitOK || !strings.Contains(out, "unlocked: ") {
		t.Fatalf("unlock --remote: got exit %d\n%s%s\nwant 0 and unlocked", code, out, errb)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.stderr.String(), "The data volume was unlocked remotely.") {
			return errors.New("the console prompt did not say it stopped")
		}
		if !strings.Contains(h.stdout.String(), "unlocked by ssh ") {
			return errors.New("no unlock line on stdout")
		}
		return nil
	})
	// The same server now serves files.
	batch := writeKey(t, "pwd\n")
	args := []string{"-P", h.port, "-i", key, "-b", batch}
	for _, o := range h.sshOptions() {
		args = append(args, "-o", o)
	}
	b, err := exec.Command("sftp", append(args, name+"@127.0.0.1")...).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "Remote working directory: /") {
		t.Errorf("sftp after the unlock: %v\n%s", err, b)
	}
	h.stop()
	if err := <-h.done; err != nil {
		t.Errorf("unlock --serve: got %v, want nil when stopped", err)
	}
}

// TestConsoleUnlockWins: a remote unlock waiting for its user's passphrase
// is told "already unlocked" (exit 4) when the console's passphrase opens
// the volume first.
func TestConsoleUnlockWins(t *testing.T) {
	h := startUnlockHost(t, 3)
	name, key := h.admin(t)
	r, w := io.Pipe()
	defer w.Close()
	type result struct {
		code     int
		out, err string
	}
	res := make(chan result, 1)
	go func() {
		c, o, e := h.remote(t, name, key, r)
		res <- result{c, o, e}
	}()
	testutil.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(h.logs.String(), "unlock login") {
			return errors.New("the remote client has not logged in")
		}
		return nil
	})
	io.WriteString(h.console, "not it\n")
	testutil.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.stderr.String(), "No key available with this passphrase.") {
			return errors.New("the console's wrong passphrase was not answered")
		}
		return nil
	})
	io.WriteString(h.console, testPass+"\n")
	got := <-res
	if got.code != exitAlreadyOpen || !strings.Contains(got.out, "already unlocked") {
		t.Errorf("remote: got exit %d\n%s%s\nwant %d and already unlocked", got.code, got.out, got.err, exitAlreadyOpen)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.stdout.String(), "unlocked by the console") {
			return errors.New("no unlock line on stdout")
		}
		return nil
	})
}

// TestUnlockTriesExhausted: wrong passphrases from the console and over
// SSH count together; the last try ends unlock --serve with exit 2.
func TestUnlockTriesExhausted(t *testing.T) {
	h := startUnlockHost(t, 2)
	name, key := h.admin(t)
	io.WriteString(h.console, "wrong at the console\n")
	testutil.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.stderr.String(), "No key available with this passphrase.") {
			return errors.New("the console's wrong passphrase was not answered")
		}
		return nil
	})
	code, out, errb := h.remote(t, name, key, strings.NewReader(""), "--key-file", writeKey(t, "wrong remotely"))
	if code != exitAuth || !strings.Contains(out, "wrong passphrase: no tries left") {
		t.Errorf("remote: got exit %d\n%s%s\nwant %d and no tries left", code, out, errb, exitAuth)
	}
	select {
	case err := <-h.done:
		if exitCodeOf(err) != exitAuth {
			t.Errorf("unlock --serve: got %v (exit %d), want exit %d", err, exitCodeOf(err), exitAuth)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("unlock --serve did not end after the last try")
	}
}

// askFile waits for an ask file in dir and returns its socket.
func askFile(t *testing.T, dir string) (path, socket string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, func() error {
		m, _ := filepath.Glob(filepath.Join(dir, "ask.*"))
		if len(m) == 0 {
			return errors.New("no ask file")
		}
		b, err := os.ReadFile(m[0])
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Socket="); ok {
				path, socket = m[0], v
				return nil
			}
		}
		return errors.New("no Socket= in the ask file")
	})
	return path, socket
}

// TestAgentConsole: under systemd the console asks through the password
// agents. A remote unlock makes the question go away; an agent's answer,
// when it comes first, unlocks.
func TestAgentConsole(t *testing.T) {
	t.Run("remote wins", func(t *testing.T) {
		dir := t.TempDir()
		h := startUnlockHostWith(t, 3, func(_ *app, cfg *provision.Config) provision.Prompter {
			return &agentPrompt{cfg: cfg, dir: dir}
		})
		name, key := h.admin(t)
		ask, _ := askFile(t, dir)
		code, out, errb := h.remote(t, name, key, strings.NewReader(""), "--key-file", writeKey(t, testPass))
		if code != exitOK {
			t.Fatalf("unlock --remote: got exit %d\n%s%s", code, out, errb)
		}
		testutil.Eventually(t, 10*time.Second, func() error {
			if _, err := os.Stat(ask); err == nil {
				return errors.New("the agents' question is still there")
			}
			return nil
		})
	})
	t.Run("agent wins", func(t *testing.T) {
		dir := t.TempDir()
		h := startUnlockHostWith(t, 3, func(_ *app, cfg *provision.Config) provision.Prompter {
			return &agentPrompt{cfg: cfg, dir: dir}
		})
		_, sock := askFile(t, dir)
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("+" + testPass))
		c.Close()
		testutil.Eventually(t, 10*time.Second, func() error {
			if !strings.Contains(h.stdout.String(), "unlocked by the console") {
				return errors.New("not unlocked by the console")
			}
			return nil
		})
	})
}

func TestUseAgents(t *testing.T) {
	cases := []struct{ systemd, terminal, want bool }{
		{true, false, true}, {true, true, false}, {false, false, false}, {false, true, false},
	}
	for _, c := range cases {
		if got := useAgents(c.systemd, c.terminal); got != c.want {
			t.Errorf("useAgents(systemd %v, terminal %v) = %v, want %v", c.systemd, c.terminal, got, c.want)
		}
	}
}

// TestOpenedElsewhere: a volume opened by another program meanwhile ends
// the asking too.
func TestOpenedElsewhere(t *testing.T) {
	h := startUnlockHost(t, 3)
	h.opener.mu.Lock()
	h.opener.opened = true
	h.opener.mu.Unlock()
	testutil.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.stdout.String(), "unlocked by another program") {
			return errors.New("the asking goes on")
		}
		if !strings.Contains(h.stderr.String(), "The data volume was unlocked by another program.") {
			return errors.New("the console prompt did not stop")
		}
		return nil
	})
}

// TestRemoteUnlockOnATerminal: unlock --remote on a terminal (made by
// script(1)) shows the server's prompt, reads the passphrase without echo
// and unlocks.
func TestRemoteUnlockOnATerminal(t *testing.T) {
	testutil.NeedRoot(t, "script")
	h := startUnlockHost(t, 3)
	name, key := h.admin(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	line := []string{self, "unlock", "--remote", name + "@127.0.0.1", "-p", h.port, "-i", key}
	for _, o := range h.sshOptions() {
		line = append(line, "-o", o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qfec", strings.Join(line, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "SIMPLECLOUD_TEST_AS_MAIN=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(out.String(), "Passphrase for simplecloud (test-disk): ") {
			return fmt.Errorf("no prompt yet: %q", out.String())
		}
		return nil
	})
	io.WriteString(in, "typed wrong 41d\r")
	testutil.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(out.String(), "wrong passphrase (2 tries left)") {
			return fmt.Errorf("no answer yet: %q", out.String())
		}
		return nil
	})
	io.WriteString(in, testPass+"\r")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("unlock --remote on a terminal: %v\n%q", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "unlocked: ") {
		t.Errorf("got %q, want unlocked", got)
	}
	if strings.Contains(got, "typed wrong") || strings.Contains(got, "battery") {
		t.Errorf("the passphrase was echoed: %q", got)
	}
}
