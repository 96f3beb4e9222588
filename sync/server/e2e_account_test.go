package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// acctCase is an account state set with the system's tools, and whether a
// key login must then work; log is what the server's log must say about
// the user.
type acctCase struct {
	name  string
	tool  []string // run with the user's name appended; none: as newUser left it ("*")
	ok    bool
	log   string
	shell bool // a shell case, which shell_check = "exists" changes
}

var acctCases = []acctCase{
	{"locked (usermod -L)", []string{"usermod", "-L"}, false, "account is locked", false},
	{"expired (usermod -e 1)", []string{"usermod", "-e", "1"}, false, "account has expired", false},
	{"expired (chage -E 0)", []string{"chage", "-E", "0"}, false, "account has expired", false},
	{"expires in the future", []string{"usermod", "-e", "2099-12-31"}, true, "auth accepted", false},
	{"no password (*)", nil, true, "auth accepted", false},
	{"nologin shell", []string{"usermod", "-s", "/usr/sbin/nologin"}, false, "shell /usr/sbin/nologin refuses logins", true},
	{"missing shell", []string{"usermod", "-s", "/nonexistent/sh"}, false, "shell /nonexistent/sh does not exist", false},
	{"password must be changed (chage -d 0)", []string{"chage", "-d", "0"}, true, "key login with a password that must be changed", false},
}

// TestAccountState logs real users in with their keys in every account
// state of acctCases, with the default shell_check and with "exists".
func TestAccountState(t *testing.T) {
	needRoot(t, "usermod", "chage")
	testAccountState(t, binary(t), "")
}

// testAccountState runs acctCases against bin with the TOML settings conf.
func testAccountState(t *testing.T, bin, conf string) []*testUser {
	users := make([]*testUser, len(acctCases))
	for i, tc := range acctCases {
		users[i] = newUser(t, "")
		if tc.tool != nil {
			runLocking(t, tc.tool[0], append(tc.tool[1:], users[i].name)...)
		}
	}
	root := openDir(t)
	s := startServerBin(t, bin, root, filepath.Join(t.TempDir(), "hk"), nil, configFile(t, exemptLoopback+conf)...)
	for i, tc := range acctCases {
		t.Run(tc.name, func(t *testing.T) {
			u := users[i]
			out, err := s.sftp(t, u.name, u.key, "pwd\n")
			if (err == nil) != tc.ok {
				t.Errorf("key login: got %v: %s; want ok %v", err, out, tc.ok)
			}
			if !tc.ok && !strings.Contains(out, "Permission denied") {
				t.Errorf("key login: got %q, want Permission denied", out)
			}
			s.waitLogLine(t, u.name, tc.log)
		})
	}
	t.Run(`shell_check = "exists"`, func(t *testing.T) {
		x := startServerBin(t, bin, root, filepath.Join(t.TempDir(), "hk"), nil,
			configFile(t, exemptLoopback+conf+"\nshell_check = \"exists\"\n")...)
		for i, tc := range acctCases {
			want := tc.ok || tc.shell
			if out, err := x.sftp(t, users[i].name, users[i].key, "pwd\n"); (err == nil) != want {
				t.Errorf("%s: got %v: %s; want ok %v", tc.name, err, out, want)
			}
		}
	})
	return users
}

// exemptLoopback keeps the refused logins of these tests, all from
// 127.0.0.1, from earning the source a penalty that refuses the next ones.
const exemptLoopback = "penalty_exempt = [\"127.0.0.1\"]\n"

// waitLogLine polls the server log until a line holds both user and want.
func (s *server) waitLogLine(t *testing.T, user, want string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		logs := s.logs.String()
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, user) && strings.Contains(l, want) {
				return nil
			}
		}
		return fmt.Errorf("server log lacks a line with %q and %q:\n%s", user, want, logs)
	})
}

// pamService writes a PAM service of the test's own, /etc/pam.d/NAME, with
// the stack body, and returns its name.
func pamService(t *testing.T, body string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "sct-" + hex.EncodeToString(b)
	p := filepath.Join("/etc/pam.d", name)
	if err := os.WriteFile(p, []byte("# written by simplecloud's tests\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(p) })
	return name
}

// TestPAMAccountState runs TestAccountState's cases with the PAM build
// through a PAM service whose account stack also refuses one user (by
// pam_listfile: only PAM refuses it) and whose session stack runs pam_exec,
// which writes a line to a marker file when a session opens and closes.
// It checks that a key login runs pam_acct_mgmt and the session, that
// with use_pam = false the user PAM refuses gets in, and that a password
// login with a password that must be changed is refused with a message
// the client shows.
func TestPAMAccountState(t *testing.T) {
	needPAM(t)
	dir := openDir(t)
	deny, marker, hook := filepath.Join(dir, "deny"), filepath.Join(dir, "marker"), filepath.Join(dir, "session-hook")
	// The marker is written as the user when the session closes (after the
	// privilege drop), so everyone may write it.
	if err := os.WriteFile(marker, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(marker, 0o666)
	// The hook's parent is the connection child: its loginuid shows that
	// pam_loginuid, which runs first, could set it.
	script := fmt.Sprintf("#!/bin/sh\necho \"$PAM_TYPE $PAM_USER $(id -u) $(cat /proc/$PPID/loginuid)\" >> %s\n", marker)
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	refused := newUser(t, "")
	if err := os.WriteFile(deny, []byte(refused.name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// pam_loginuid (in Debian's sshd stack) works only on a process's main
	// thread, and only while the loginuid is unset or with
	// CAP_AUDIT_CONTROL: required when the test's own is unset.
	loginuid := "optional"
	if b, _ := os.ReadFile("/proc/self/loginuid"); string(b) == "4294967295" {
		loginuid = "required"
	}
	service := pamService(t, fmt.Sprintf(`auth     required pam_unix.so
account  required pam_listfile.so item=user sense=deny file=%s onerr=fail
account  required pam_unix.so
session  %s pam_loginuid.so
session  required pam_exec.so %s
`, deny, loginuid, hook))
	conf := fmt.Sprintf("pam_service = %q\n", service)
	bin := pamBinary(t)
	users := testAccountState(t, bin, conf)

	t.Run("session opened and closed for key logins", func(t *testing.T) {
		u := users[slices.IndexFunc(acctCases, func(c acctCase) bool { return c.tool == nil })]
		open := "open_session " + u.name + " 0 "
		if loginuid == "required" {
			open += fmt.Sprint(u.uid, "\n")
		}
		waitFile(t, marker, open)
		waitFile(t, marker, fmt.Sprintf("close_session %s %d ", u.name, u.uid))
	})

	const pw = "expired pa55word"
	changeUser := newUser(t, "")
	setPassword(t, changeUser.name, pw)
	runLocking(t, "chage", "-d", "0", changeUser.name)
	s := startServerBin(t, bin, openDir(t), filepath.Join(t.TempDir(), "hk"), nil,
		append(configFile(t, exemptLoopback+conf), "--password-auth")...)
	t.Run("pam_acct_mgmt refuses a key login", func(t *testing.T) {
		if out, err := s.sftp(t, refused.name, refused.key, "pwd\n"); err == nil {
			t.Errorf("key login of a user the account stack refuses: got success %q, want refused", out)
		}
		s.waitLogLine(t, refused.name, "PAM account check")
		off := startServerBin(t, bin, openDir(t), filepath.Join(t.TempDir(), "hk"), nil,
			configFile(t, exemptLoopback+conf+"use_pam = false\n")...)
		if out, err := off.sftp(t, refused.name, refused.key, "pwd\n"); err != nil {
			t.Errorf("the same with use_pam = false: %v: %s; want accepted", err, out)
		}
	})
	t.Run("password that must be changed", func(t *testing.T) {
		for _, m := range []string{"password", "keyboard-interactive"} {
			c := newPWClient(t, s, m)
			c.logLevel = "INFO"
			out, err := c.sftp(t, changeUser.name, []string{pw}, "pwd\n")
			if err == nil || !strings.Contains(out, "Your password has expired") {
				t.Errorf("%s: got %v: %q; want refused with the expiry message", m, err, out)
			}
		}
		s.waitLogLine(t, changeUser.name, "password must be changed")
		if out, err := s.sftp(t, changeUser.name, changeUser.key, "pwd\n"); err != nil {
			t.Errorf("key login of the same user: %v: %s; want accepted", err, out)
		}
	})
}

// waitFile polls the file at p until it holds want.
func waitFile(t *testing.T, p, want string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		if b, _ := os.ReadFile(p); !strings.Contains(string(b), want) {
			return fmt.Errorf("%s: got %q, want a line %q", p, b, want)
		}
		return nil
	})
}
