package server_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	syncserver "simplecloud/sync/server"
)

// The PAM tests need a binary built with cgo and -tags pam, and a test
// binary built with -tags pam too (PasswordAuthSupported):
// go test -tags pam -run PAM ./sync/server/

var pamBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// pamBinary builds simplecloud with PAM once per test process.
func pamBinary(t *testing.T) string {
	t.Helper()
	pamBin.once.Do(func() {
		if p := os.Getenv("SIMPLECLOUD_TEST_PAM_BIN"); p != "" {
			pamBin.path = p
			return
		}
		pamBin.dir, pamBin.err = os.MkdirTemp("", "simplecloud-pam-bin-")
		if pamBin.err != nil {
			return
		}
		os.Chmod(pamBin.dir, 0o755)
		pamBin.path = filepath.Join(pamBin.dir, "simplecloud")
		cmd := exec.Command("go", "build", "-tags", "pam", "-o", pamBin.path, "simplecloud/cmd/simplecloud")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			pamBin.err = fmt.Errorf("go build -tags pam (needs cgo and libpam0g-dev): %v: %s", err, out)
		}
	})
	if pamBin.err != nil {
		t.Fatal(pamBin.err)
	}
	return pamBin.path
}

// needPAM skips t unless it runs as root in a build with PAM, and makes
// sure the PAM service exists (written for the test when missing).
func needPAM(t *testing.T) {
	t.Helper()
	needRoot(t, "chpasswd", "usermod")
	if !syncserver.PasswordAuthSupported {
		t.Skip("built without -tags pam; run: go test -tags pam -run PAM ./sync/server/ (needs cgo and libpam0g-dev)")
	}
	p := filepath.Join("/etc/pam.d", syncserver.PAMService)
	if _, err := os.Stat(p); err == nil {
		return
	}
	stack := "# written by simplecloud's tests\nauth required pam_unix.so\naccount required pam_unix.so\n"
	if err := os.WriteFile(p, []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(p) })
}

// setPassword gives u a password with chpasswd.
func setPassword(t *testing.T, name, password string) {
	t.Helper()
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd %s: %v: %s", name, err, out)
	}
}

// askpass is an SSH_ASKPASS program that answers the n-th prompt with the
// n-th line of $SCT_PASSWORDS (empty once they run out).
const askpass = `#!/bin/sh
n=$(cat "$SCT_PASSWORDS.n" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$SCT_PASSWORDS.n"
sed -n "${n}p" "$SCT_PASSWORDS"
`

// pwClient runs OpenSSH clients that log in with passwords through
// SSH_ASKPASS.
type pwClient struct {
	s       *server
	askpass string
	methods string // PreferredAuthentications
	// logLevel is the client's LogLevel, ERROR when empty; the client
	// shows the server's banners only from INFO on.
	logLevel string
}

func newPWClient(t *testing.T, s *server, methods string) *pwClient {
	t.Helper()
	p := filepath.Join(t.TempDir(), "askpass")
	if err := os.WriteFile(p, []byte(askpass), 0o755); err != nil {
		t.Fatal(err)
	}
	return &pwClient{s: s, askpass: p, methods: methods}
}

// run runs prog (ssh or sftp) with args after the connection options; the
// prompts get passwords in turn, and the client asks at most len(passwords)
// times per method.
func (c *pwClient) run(t *testing.T, prog string, passwords []string, args ...string) (string, error) {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "passwords")
	if err := os.WriteFile(pf, []byte(strings.Join(passwords, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := "-p"
	if prog == "sftp" {
		port = "-P"
	}
	argv := []string{"-F", "/dev/null", port, c.s.port, "-o", "BatchMode=no",
		"-o", "PreferredAuthentications=" + c.methods, "-o", "PubkeyAuthentication=no",
		"-o", fmt.Sprintf("NumberOfPasswordPrompts=%d", len(passwords)),
		"-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + c.s.knownHosts,
		"-o", "ConnectTimeout=20", "-o", "LogLevel=" + cmp.Or(c.logLevel, "ERROR")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, append(argv, args...)...)
	cmd.Env = append(os.Environ(), "SSH_ASKPASS="+c.askpass, "SSH_ASKPASS_REQUIRE=force",
		"DISPLAY=:0", "SCT_PASSWORDS="+pf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal to ask on
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sftp runs an sftp batch as user.
func (c *pwClient) sftp(t *testing.T, user string, passwords []string, batch string) (string, error) {
	t.Helper()
	bf := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.run(t, "sftp", passwords, "-b", bf, user+"@127.0.0.1")
}

// TestPAMPasswordLogin logs real users in with their system password through
// PAM with stock ssh and sftp, by both password methods, and checks the
// refusals: wrong password, root, a locked account, a denied user, an
// unknown user, MaxAuthTries and the per-address back-off.
func TestPAMPasswordLogin(t *testing.T) {
	needPAM(t)
	const pw = "c0rrect horse-battery"
	u := newUser(t, "")
	setPassword(t, u.name, pw)
	locked := newUser(t, "")
	setPassword(t, locked.name, pw)
	run(t, "usermod", "-L", locked.name)
	denied := newUser(t, "")
	setPassword(t, denied.name, pw)
	root := openDir(t)
	// Ten failed logins in a row would earn 127.0.0.1 a penalty.
	s := startServerBin(t, pamBinary(t), root, filepath.Join(t.TempDir(), "hk"), nil,
		append(configFile(t, `penalty_exempt = ["127.0.0.1"]`),
			"--password-auth", "--backoff-after", "100", "--deny-users", denied.name)...)

	local := t.TempDir()
	writeRandom(t, filepath.Join(local, "up"), 100<<10)
	for i, m := range []string{"password", "keyboard-interactive", "password,keyboard-interactive"} {
		t.Run("sftp "+m, func(t *testing.T) {
			c := newPWClient(t, s, m)
			name := fmt.Sprintf("up%d", i)
			if out, err := c.sftp(t, u.name, []string{pw}, fmt.Sprintf("put %s/up %s\nget %s %s/%s.back\n", local, name, name, local, name)); err != nil {
				t.Fatalf("sftp with the right password: %v\n%s", err, out)
			}
			sameFile(t, filepath.Join(local, "up"), filepath.Join(local, name+".back"))
			st, err := os.Stat(filepath.Join(root, u.name, name))
			if err != nil {
				t.Fatal(err)
			}
			if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != u.uid || int(sys.Gid) != u.gid {
				t.Errorf("owner: got %d:%d, want %d:%d", sys.Uid, sys.Gid, u.uid, u.gid)
			}
			// ssh logs in too; the server then refuses the command itself.
			out, err := c.run(t, "ssh", []string{pw}, u.name+"@127.0.0.1", "id")
			if err == nil || !strings.Contains(out, "offers only the sftp subsystem") {
				t.Errorf("ssh id after a password login: got %v: %q, want the sftp-only refusal", err, out)
			}
		})
	}
	t.Run("second prompt after a wrong password", func(t *testing.T) {
		c := newPWClient(t, s, "password")
		if out, err := c.sftp(t, u.name, []string{"wrong", pw}, "ls\n"); err != nil {
			t.Errorf("wrong, then right password: %v\n%s", err, out)
		}
	})

	cases := []struct {
		name, user, password, log string
	}{
		{"wrong password", u.name, "not " + pw, "Authentication failure"},
		{"root", "root", pw, "root login is not permitted"},
		{"locked account", locked.name, pw, "account is locked"},
		{"denied user", denied.name, pw, "deny_users"},
		{"unknown user", "sct-nosuchuser", pw, "no such user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []string{"password", "keyboard-interactive"} {
				c := newPWClient(t, s, m)
				out, err := c.sftp(t, tc.user, []string{tc.password}, "ls\n")
				if err == nil || !strings.Contains(out, "Permission denied") {
					t.Errorf("%s: got %v:\n%s\nwant Permission denied", m, err, out)
				}
			}
			s.waitLog(t, tc.log)
		})
	}
	if strings.Contains(s.logs.String(), pw) || strings.Contains(s.logs.String(), "horse") {
		t.Error("the server log holds a password")
	}
}

// TestPAMLimits checks that password failures count towards MaxAuthTries
// and the per-address back-off like key failures do.
func TestPAMLimits(t *testing.T) {
	needPAM(t)
	const pw = "an0ther secret"
	u := newUser(t, "")
	setPassword(t, u.name, pw)
	root := openDir(t)
	bin := pamBinary(t)

	s := startServerBin(t, bin, root, filepath.Join(t.TempDir(), "hk"), nil, "--password-auth", "--max-auth-tries", "2")
	c := newPWClient(t, s, "password")
	if out, err := c.sftp(t, u.name, []string{"wrong1", "wrong2", pw}, "ls\n"); err == nil {
		t.Errorf("right password after two failures with --max-auth-tries 2: got success, want cut off:\n%s", out)
	}
	if out, err := c.sftp(t, u.name, []string{"wrong1", pw}, "ls\n"); err != nil {
		t.Errorf("right password after one failure with --max-auth-tries 2: %v\n%s", err, out)
	}

	b := startServerBin(t, bin, root, filepath.Join(t.TempDir(), "hk"), nil, "--password-auth", "--backoff-after", "2")
	c = newPWClient(t, b, "password")
	for range 3 {
		c.sftp(t, u.name, []string{"wrong"}, "ls\n")
	}
	if out, err := c.sftp(t, u.name, []string{pw}, "ls\n"); err == nil {
		t.Fatalf("right password during back-off: got success %q, want refused", out)
	}
	b.waitLog(t, "back-off")
}

// TestPasswordAuthNeedsPAM checks that a binary built without PAM refuses
// --password-auth with a message that says how to get it, before it
// touches anything.
func TestPasswordAuthNeedsPAM(t *testing.T) {
	if os.Getenv("SIMPLECLOUD_TEST_BIN") != "" {
		t.Skip("SIMPLECLOUD_TEST_BIN is set: its build tags are unknown")
	}
	hk := filepath.Join(t.TempDir(), "hk")
	out, err := exec.Command(binary(t), "serve", "--password-auth", "--listen", "127.0.0.1:0", "--host-key-dir", hk).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-tags pam") {
		t.Errorf("serve --password-auth without PAM: got %v: %s, want an error naming -tags pam", err, out)
	}
	if _, err := os.Stat(hk); err == nil {
		t.Error("host keys were made before the refusal")
	}
}
