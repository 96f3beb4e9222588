package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// The end-to-end tests run the real simplecloud binary as a root server,
// real users made with useradd, and the real OpenSSH clients.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if pamBin.dir != "" {
		os.RemoveAll(pamBin.dir)
	}
	os.Exit(code)
}

// needRoot skips t unless it runs as root with the OpenSSH client tools.
func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	testutil.NeedRoot(t, append([]string{"useradd", "userdel", "ssh", "sftp", "ssh-keygen"}, tools...)...)
}

// binary builds simplecloud once per test process into a directory every
// user can reach, like an installed binary.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("SIMPLECLOUD_TEST_BIN"); p != "" {
			binPath = p // a prebuilt binary, in a directory every user can reach
			return
		}
		binDir, buildErr = os.MkdirTemp("", "simplecloud-bin-")
		if buildErr != nil {
			return
		}
		os.Chmod(binDir, 0o755)
		binPath = filepath.Join(binDir, "simplecloud")
		// Pure Go, as make build ships it: the connection child confines
		// every thread only in that build (see harden.go).
		cmd := exec.Command("go", "build", "-o", binPath, "simplecloud/cmd/simplecloud")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// openDir returns a fresh temporary directory that other users can traverse.
func openDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// testUser is a real system user with a key pair.
type testUser struct {
	name, home, key string
	uid, gid        int
}

// newUser makes a user with useradd and authorizes a fresh ed25519 key for
// it; authLine, if set, is a prefix (options) for the key's line.
func newUser(t *testing.T, options string) *testUser {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "sct-" + hex.EncodeToString(b)
	// useradd alone leaves the password "!", a locked account, which the
	// server refuses (as sshd without PAM does); "*" has no password and
	// is not locked, so keys work.
	runLocking(t, "useradd", "-m", "-s", "/bin/sh", "-p", "*", name)
	t.Cleanup(func() {
		exec.Command("pkill", "-KILL", "-u", name).Run()
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil {
			t.Logf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	tu := &testUser{name: name, home: u.HomeDir}
	tu.uid, _ = strconv.Atoi(u.Uid)
	tu.gid, _ = strconv.Atoi(u.Gid)
	tu.key = newKey(t)
	tu.authorize(t, options, tu.key)
	return tu
}

// runLocking runs a tool that locks /etc/passwd or /etc/shadow (useradd,
// usermod, chage), again while another process holds the lock: other
// tests on the machine make users too.
func runLocking(t *testing.T, name string, args ...string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, func() error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		if !strings.Contains(string(out), "cannot lock") {
			t.Fatal(err)
		}
		return err
	})
}

// newKey makes an ed25519 key pair in a temporary directory.
func newKey(t *testing.T) string {
	t.Helper()
	k := filepath.Join(t.TempDir(), "id_ed25519")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", k)
	return k
}

// authorize writes authorized_keys with the keys' public halves.
func (u *testUser) authorize(t *testing.T, options string, keys ...string) {
	t.Helper()
	ssh := filepath.Join(u.home, ".ssh")
	var lines bytes.Buffer
	for _, k := range keys {
		pub, err := os.ReadFile(k + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		if options != "" {
			lines.WriteString(options + " ")
		}
		lines.Write(pub)
	}
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(ssh, "authorized_keys")
	if err := os.WriteFile(p, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ssh, p} {
		if err := os.Chown(f, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// server is a running simplecloud serve process.
type server struct {
	cmd        *exec.Cmd
	port       string
	hostKeyDir string
	root       string
	stdout     string // lines before "listening on"
	logs       *syncBuffer
	knownHosts string
	cipher     string // for the clients, when set
	exited     chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs simplecloud serve on a random port of 127.0.0.1 with the
// given data root and host key dir, and waits until it listens.
func startServer(t *testing.T, root, hostKeyDir string, env []string, args ...string) *server {
	t.Helper()
	return startServerBin(t, binary(t), root, hostKeyDir, env, args...)
}

// startServerBin is startServer with the binary bin.
func startServerBin(t *testing.T, bin, root, hostKeyDir string, env []string, args ...string) *server {
	t.Helper()
	return startServerCmd(t, serverCmd(bin, root, hostKeyDir, env, args...), root, hostKeyDir)
}

// serverCmd is the command startServerBin runs.
func serverCmd(bin, root, hostKeyDir string, env []string, args ...string) *exec.Cmd {
	argv := append([]string{"--log-level", "debug", "serve", "--listen", "127.0.0.1:0",
		"--root", root, "--host-key-dir", hostKeyDir, "--shutdown-timeout", "5s"}, args...)
	cmd := exec.Command(bin, argv...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// startServerCmd starts cmd (from serverCmd) and waits until it listens.
func startServerCmd(t *testing.T, cmd *exec.Cmd, root, hostKeyDir string) *server {
	t.Helper()
	s := &server{cmd: cmd, hostKeyDir: hostKeyDir, root: root, logs: &syncBuffer{}, exited: make(chan error, 1),
		knownHosts: filepath.Join(t.TempDir(), "known_hosts")}
	cmd.Stderr = s.logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop(t)
		if strings.Contains(s.logs.String(), "DATA RACE") {
			t.Error("the server (built with -race) reported a data race")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.exited <- cmd.Wait()
	}()
	deadline := time.After(20 * time.Second)
	var head []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before listening: %s\n%s", strings.Join(head, "\n"), s.logs.String())
			}
			head = append(head, l)
			if a, ok := strings.CutPrefix(l, "listening on "); ok {
				s.port = a[strings.LastIndex(a, ":")+1:]
				s.stdout = strings.Join(head, "\n")
				go func() {
					for range lines {
					}
				}()
				return s
			}
		case <-deadline:
			t.Fatalf("server did not listen within 20s: %s\n%s", strings.Join(head, "\n"), s.logs.String())
		}
	}
}

// stop sends SIGTERM and waits for the server to exit; it returns the
// server's exit error.
func (s *server) stop(t *testing.T) error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
		return err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("server did not stop within 30s of SIGTERM")
		return <-s.exited
	}
}

// sshArgs are the OpenSSH client options for talking to s as u with key.
func (s *server) sshArgs(key string, portFlag string) []string {
	var c []string
	if s.cipher != "" {
		c = []string{"-c", s.cipher}
	}
	return append(c, "-F", "/dev/null", portFlag, s.port, "-i", key, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile="+s.knownHosts,
		"-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR")
}

// sftp runs a batch of sftp commands as user with key and returns the
// combined output.
func (s *server) sftp(t *testing.T, user, key, batch string) (string, error) {
	t.Helper()
	bf := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(s.sshArgs(key, "-P"), "-b", bf, user+"@127.0.0.1")
	out, err := exec.CommandContext(ctx, "sftp", args...).CombinedOutput()
	return string(out), err
}

// mustSFTP is sftp that fails the test on error.
func (s *server) mustSFTP(t *testing.T, user, key, batch string) string {
	t.Helper()
	out, err := s.sftp(t, user, key, batch)
	if err != nil {
		t.Fatalf("sftp as %s: %v\n%s", user, err, out)
	}
	return out
}

// ssh runs ssh with a remote command and returns the combined output.
func (s *server) ssh(t *testing.T, user, key string, remote ...string) (string, error) {
	t.Helper()
	args := append(append(s.sshArgs(key, "-p"), user+"@127.0.0.1"), remote...)
	out, err := exec.Command("ssh", args...).CombinedOutput()
	return string(out), err
}

// waitLog polls the server log for s until the deadline.
func (s *server) waitLog(t *testing.T, want string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		if logs := s.logs.String(); !strings.Contains(logs, want) {
			return fmt.Errorf("server log lacks %q:\n%s", want, logs)
		}
		return nil
	})
}

// writeRandom writes n random bytes to p.
func writeRandom(t *testing.T, p string, n int64) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, n); err != nil {
		t.Fatal(err)
	}
}

// sameFile fails t unless a and b have equal contents.
func sameFile(t *testing.T, a, b string) {
	t.Helper()
	out, err := exec.Command("cmp", a, b).CombinedOutput()
	if err != nil {
		t.Fatalf("cmp %s %s: %v: %s", a, b, err, out)
	}
}
