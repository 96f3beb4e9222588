package server_test

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
	"strconv"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/gate"
	"simplecloud/internal/testutil"
	syncserver "simplecloud/sync/server"
)

// The unlock mode is tested with the server in this process (ServeUnlocking
// and then Serve, as unlock --serve runs them), the connection children of
// the real binary, real users and groups and the real OpenSSH clients. The
// volume-opening step is a function accepting one test passphrase: the
// real LUKS open, with dm-crypt, is what the VM unlock tests cover.

const testPassphrase = "correct horse battery staple"

// unlockServer is an in-process server in unlock mode.
type unlockServer struct {
	*server            // for the client helpers: port, known hosts
	gate    *gate.Gate // the coordinator, which the test may use as the console
	group   string
	logs    *syncBuffer
	served  chan error // ServeUnlocking's error; then Serve's
	opens   chan []byte
}

// newAdminGroup makes a system group for the test and returns its name.
func newAdminGroup(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	name := "sctadm-" + hex.EncodeToString(b)
	runLocking(t, "groupadd", name)
	t.Cleanup(func() { exec.Command("groupdel", name).Run() })
	return name
}

// startUnlockServer runs ServeUnlocking, then Serve, on a port of
// 127.0.0.1, with a gate of tries tries whose opener accepts
// testPassphrase.
func startUnlockServer(t *testing.T, tries int, backoff func(int) time.Duration) *unlockServer {
	t.Helper()
	needRoot(t, "groupadd", "usermod")
	bin := binary(t)
	u := &unlockServer{logs: &syncBuffer{}, served: make(chan error, 2), opens: make(chan []byte, 16), group: newAdminGroup(t)}
	u.gate = gate.New(gate.Config{
		Open: func(_ context.Context, p []byte) error {
			u.opens <- bytes.Clone(p)
			if string(p) == testPassphrase {
				return nil
			}
			return errWrongKey
		},
		Wrong:   func(err error) bool { return errors.Is(err, errWrongKey) },
		Tries:   tries,
		Backoff: backoff,
	})
	log := slog.New(slog.NewTextHandler(u.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	root, hk := openDir(t), filepath.Join(t.TempDir(), "hostkeys")
	keys, err := syncserver.LoadHostKeys(hk)
	if err != nil {
		t.Fatal(err)
	}
	cfg := syncserver.Config{Listen: "127.0.0.1:0", Root: root, HostKeyDir: hk, ShutdownTimeout: 5 * time.Second}
	srv, err := syncserver.New(cfg, keys, []string{bin, "--log-level", "debug", "serve-conn"}, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		next, err := srv.ServeUnlocking(ctx, ln, syncserver.UnlockMode{Gate: u.gate, AdminGroup: u.group, Volume: "test (disk)"})
		u.served <- err
		if err != nil {
			ln.Close()
			return
		}
		u.served <- srv.Serve(ctx, next)
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", u.logs.String())
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	u.server = &server{port: strconv.Itoa(port), root: root, hostKeyDir: hk, logs: u.logs,
		knownHosts: filepath.Join(t.TempDir(), "known_hosts")}
	return u
}

var errWrongKey = errors.New("no key available with this passphrase")

// admin makes a user in the server's admin group.
func (u *unlockServer) admin(t *testing.T) *testUser {
	t.Helper()
	a := newUser(t, "")
	runLocking(t, "usermod", "-a", "-G", u.group, a.name)
	return a
}

// verboseArgs are sshArgs with LogLevel=INFO, at which ssh shows the
// server's banner and why a channel was refused.
func (u *unlockServer) verboseArgs(key string) []string {
	args := u.sshArgs(key, "-p")
	for i, a := range args {
		if a == "LogLevel=ERROR" {
			args[i] = "LogLevel=INFO"
		}
	}
	return args
}

// unlockCmd runs ssh USER@127.0.0.1 unlock with stdin.
func (u *unlockServer) unlockCmd(user *testUser, stdin string, extra ...string) *exec.Cmd {
	args := append(append(u.verboseArgs(user.key), extra...), user.name+"@127.0.0.1", "unlock")
	cmd := exec.Command("ssh", args...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// fingerprint is ssh-keygen's SHA256 fingerprint of key.
func fingerprint(t *testing.T, key string) string {
	t.Helper()
	f := strings.Fields(run(t, "ssh-keygen", "-lf", key+".pub"))
	if len(f) < 2 {
		t.Fatalf("ssh-keygen -lf: %v", f)
	}
	return f[1]
}

// TestUnlockModeOffersOnlyUnlock: before the unlock, sftp, the sync
// subsystem, other commands, a shell and forwarding are refused with a
// message, and users outside the admin group cannot log in; an admin's
// unlock opens the volume; after it, the same listener serves files.
func TestUnlockModeOffersOnlyUnlock(t *testing.T) {
	u := startUnlockServer(t, 3, nil)
	adm := u.admin(t)
	other := newUser(t, "")

	out, err := u.sftp(t, adm.name, adm.key, "ls\n")
	if err == nil || !strings.Contains(out, `only "unlock" is offered`) {
		t.Errorf("sftp before the unlock: got %v\n%s\nwant a refusal saying only unlock is offered", err, out)
	}
	for _, remote := range [][]string{{"ls", "/"}, {"-s", "simplecloud-sync"}, {"md5sum", "x"}} {
		args := append(append(u.sshArgs(adm.key, "-p"), adm.name+"@127.0.0.1"), remote...)
		b, err := exec.Command("ssh", args...).CombinedOutput()
		if exitCode(err) != 1 || !strings.Contains(string(b), `only "unlock" is offered`) {
			t.Errorf("ssh %v before the unlock: got exit %d\n%s\nwant 1 and the refusal", remote, exitCode(err), b)
		}
	}
	fwd := append(u.verboseArgs(adm.key), "-W", "127.0.0.1:"+u.port, adm.name+"@127.0.0.1")
	if b, err := exec.Command("ssh", fwd...).CombinedOutput(); err == nil || !strings.Contains(string(b), "prohibited") {
		t.Errorf("ssh -W before the unlock: got %v\n%s\nwant a refusal", err, b)
	}
	b, err := u.unlockCmd(other, testPassphrase+"\n").CombinedOutput()
	if exitCode(err) != 255 || !strings.Contains(string(b), "Only members of group") {
		t.Errorf("unlock by a user outside the group: got exit %d\n%s\nwant 255 and the group message", exitCode(err), b)
	}
	if len(u.opens) != 0 {
		t.Fatalf("the opener ran %d times before any admin unlock", len(u.opens))
	}

	b, err = u.unlockCmd(adm, testPassphrase+"\n").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "unlocked:") {
		t.Fatalf("unlock: got %v\n%s\nwant exit 0 and unlocked", err, b)
	}
	if err := <-u.served; err != nil {
		t.Fatalf("ServeUnlocking: got %v, want nil after the unlock", err)
	}
	if got := u.gate.Winner(); !strings.HasPrefix(got, "ssh "+fingerprint(t, adm.key)) {
		t.Errorf("winner: got %q, want the admin's key", got)
	}
	// Served now: sftp works for both users, on the same port.
	for _, usr := range []*testUser{adm, other} {
		if out := u.mustSFTP(t, usr.name, usr.key, "mkdir d\nls\n"); !strings.Contains(out, "d") {
			t.Errorf("sftp as %s after the unlock: got %q", usr.name, out)
		}
	}
	b, err = u.unlockCmd(adm, testPassphrase+"\n").CombinedOutput()
	if err == nil {
		t.Errorf("unlock after the unlock: got exit 0\n%s\nwant the normal server's refusal", b)
	}
}

// TestUnlockWrongPassphrases: wrong passphrases count against the tries
// and each one after a wrong one waits; the last try ends the mode. The
// log has each attempt with the key's fingerprint and the address, never
// a passphrase.
func TestUnlockWrongPassphrases(t *testing.T) {
	u := startUnlockServer(t, 2, func(n int) time.Duration { return time.Duration(n) * 700 * time.Millisecond })
	adm := u.admin(t)
	start := time.Now()
	b, err := u.unlockCmd(adm, "first-wrong-9f1c\nsecond-wrong-77ab\n"+testPassphrase+"\n").CombinedOutput()
	took := time.Since(start)
	out := string(b)
	if exitCode(err) != 2 || !strings.Contains(out, "wrong passphrase (1 tries left)") || !strings.Contains(out, "wrong passphrase: no tries left") {
		t.Fatalf("got exit %d\n%s\nwant 2, one try left, then none", exitCode(err), out)
	}
	if took < 700*time.Millisecond {
		t.Errorf("two wrong passphrases took %v, want at least the 700ms back-off", took)
	}
	if err := <-u.served; !errors.Is(err, gate.ErrExhausted) {
		t.Errorf("ServeUnlocking: got %v, want ErrExhausted", err)
	}
	if n := len(u.opens); n != 2 {
		t.Errorf("the opener ran %d times, want 2 (the third passphrase comes after the last try)", n)
	}
	logs := u.logs.String()
	fp := fingerprint(t, adm.key)
	var attempts []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "remote unlock attempt") {
			attempts = append(attempts, l)
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("got %d attempt lines, want 2:\n%s", len(attempts), logs)
	}
	for _, l := range attempts {
		if !strings.Contains(l, "key="+fp) || !strings.Contains(l, "addr=127.0.0.1:") || !strings.Contains(l, "wrong passphrase") {
			t.Errorf("attempt line %q lacks the fingerprint %s, the address or the result", l, fp)
		}
	}
	for _, secret := range []string{"first-wrong-9f1c", "second-wrong-77ab", testPassphrase} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the passphrase %q", secret)
		}
	}
}

// TestUnlockOtherPromptWins: a remote session waiting at the prompt when
// the console unlocks is told "already unlocked" and exits 4.
func TestUnlockOtherPromptWins(t *testing.T) {
	u := startUnlockServer(t, 3, nil)
	adm := u.admin(t)
	cmd := u.unlockCmd(adm, "")
	cmd.Stdin = nil
	var stderr, stdout syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(stderr.String(), "Passphrase for test (disk): ") {
			return errors.New("no prompt yet: " + stderr.String())
		}
		return nil
	})
	if _, err := u.gate.Try(context.Background(), "console", []byte(testPassphrase)); err != nil {
		t.Fatalf("console attempt: %v", err)
	}
	err = cmd.Wait()
	if exitCode(err) != 4 || !strings.Contains(stdout.String(), "already unlocked") {
		t.Errorf("remote session: got exit %d, stdout %q, want 4 and already unlocked", exitCode(err), stdout.String())
	}
	if err := <-u.served; err != nil {
		t.Errorf("ServeUnlocking: got %v, want nil", err)
	}
}

// TestUnlockKeysOnTheLockedVolume: an admin whose authorized_keys is
// missing (the home directory is on the locked volume) is told so.
func TestUnlockKeysOnTheLockedVolume(t *testing.T) {
	u := startUnlockServer(t, 3, nil)
	adm := u.admin(t)
	if err := os.Remove(filepath.Join(adm.home, ".ssh", "authorized_keys")); err != nil {
		t.Fatal(err)
	}
	b, err := u.unlockCmd(adm, testPassphrase+"\n").CombinedOutput()
	if exitCode(err) != 255 || !strings.Contains(string(b), "on the locked data volume") {
		t.Errorf("got exit %d\n%s\nwant 255 and the message about the locked volume", exitCode(err), b)
	}
}

// TestUnlockOnAPty: with ssh -tt the client's terminal is raw: the
// passphrase is not echoed, backspace erases, Enter (CR) ends the line,
// and the answers end in CR LF.
func TestUnlockOnAPty(t *testing.T) {
	u := startUnlockServer(t, 3, func(int) time.Duration { return 0 })
	adm := u.admin(t)
	cmd := u.unlockCmd(adm, "", "-tt")
	cmd.Stdin = nil
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	prompts := func(n int) func() error {
		return func() error {
			if c := strings.Count(out.String(), "Passphrase for test (disk): "); c < n {
				return fmt.Errorf("%d prompts, want %d: %q", c, n, out.String())
			}
			return nil
		}
	}
	testutil.Eventually(t, 20*time.Second, prompts(1))
	io.WriteString(in, "typed-wrong-5e2a\r")
	testutil.Eventually(t, 20*time.Second, prompts(2))
	io.WriteString(in, testPassphrase+"XY\x7f\x7f\r")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ssh -tt unlock: %v\n%q", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "wrong passphrase (2 tries left)\r\n") || !strings.Contains(got, "unlocked: ") {
		t.Errorf("got %q, want a wrong passphrase line ending in CR LF, then unlocked", got)
	}
	if strings.Contains(got, "typed-wrong") || strings.Contains(got, "battery") {
		t.Errorf("the passphrase was echoed: %q", got)
	}
}

// TestUnlockRefusesLockedAccounts: an admin whose account is locked
// (usermod -L) cannot unlock, as they could not log in.
func TestUnlockRefusesLockedAccounts(t *testing.T) {
	u := startUnlockServer(t, 3, nil)
	adm := u.admin(t)
	runLocking(t, "usermod", "-L", adm.name)
	b, err := u.unlockCmd(adm, testPassphrase+"\n").CombinedOutput()
	if exitCode(err) != 255 || len(u.opens) != 0 {
		t.Errorf("unlock by a locked account: got exit %d, %d opens\n%s\nwant 255 and none", exitCode(err), len(u.opens), b)
	}
	u.waitLog(t, "locked")
}
