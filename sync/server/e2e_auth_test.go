package server_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthRefused checks every way a login must fail, with the reason in
// the server's log, and that an honoured restriction option still works.
func TestAuthRefused(t *testing.T) {
	needRoot(t)
	good := newUser(t, "")
	opt := newUser(t, `command="/bin/sh"`)
	restricted := newUser(t, `restrict,no-pty,from="127.0.0.0/8"`)
	elsewhere := newUser(t, `from="192.0.2.0/24"`)
	denied := newUser(t, "")
	lax := newUser(t, "")
	os.Chmod(filepath.Join(lax.home, ".ssh", "authorized_keys"), 0o666)
	root := openDir(t)
	// Seven failed logins in a row would earn 127.0.0.1 a penalty.
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil,
		append(configFile(t, `penalty_exempt = ["127.0.0.1"]`), "--deny-users", denied.name)...)

	if out, err := s.sftp(t, restricted.name, restricted.key, "ls\n"); err != nil {
		t.Errorf("key with restrict,no-pty,from=127.0.0.0/8: %v: %s; want accepted", err, out)
	}
	if out, err := s.sftp(t, good.name, good.key, "ls\n"); err != nil {
		t.Fatalf("good login: %v: %s", err, out)
	}
	wrongKey := newKey(t)
	cases := []struct {
		name, user, key, log string
	}{
		{"wrong key", good.name, wrongKey, ""},
		{"unknown user", "sct-nosuchuser", good.key, "no such user"},
		{"root", "root", good.key, "root login is not permitted"},
		{"denied user", denied.name, denied.key, "deny_users"},
		{"unsupported option", opt.name, opt.key, `command=\"/bin/sh\" is not supported: only command=\"internal-sftp\"`},
		{"from= elsewhere", elsewhere.name, elsewhere.key, "from= does not match"},
		{"group-writable authorized_keys", lax.name, lax.key, "bad modes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.sftp(t, tc.user, tc.key, "ls\n")
			if err == nil || !strings.Contains(out, "Permission denied") {
				t.Fatalf("got %v:\n%s\nwant Permission denied", err, out)
			}
			if tc.log != "" {
				s.waitLog(t, tc.log)
			}
		})
	}
	if strings.Contains(s.logs.String(), "PRIVATE KEY") {
		t.Error("server log holds key material")
	}
}

// TestOnlySFTP checks that shells and commands are refused with a message.
func TestOnlySFTP(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)
	out, err := s.ssh(t, u.name, u.key, "id")
	if err == nil || !strings.Contains(out, "offers only the sftp subsystem") {
		t.Errorf("ssh id: got %v: %q, want a refusal naming sftp", err, out)
	}
	out, err = s.ssh(t, u.name, u.key, "-s", "nosuchsubsystem")
	if err == nil {
		t.Errorf("unknown subsystem: got success %q, want a refusal", out)
	}
}

// TestBackoffRefusesAddress checks that an address that keeps failing is refused for a
// while, even with the right key.
func TestBackoffRefusesAddress(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil, "--backoff-after", "2")
	wrong := newKey(t)
	for range 3 {
		s.sftp(t, u.name, wrong, "ls\n")
	}
	if out, err := s.sftp(t, u.name, u.key, "ls\n"); err == nil {
		t.Fatalf("right key during back-off: got success %q, want refused", out)
	}
	s.waitLog(t, "back-off")
}

// TestRestart checks that a restarted server keeps its host keys (the
// client's known_hosts still matches, strictly) and the users' data, that
// SIGTERM stops it cleanly and that it tells systemd it is ready.
func TestRestart(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root, hk := openDir(t), filepath.Join(t.TempDir(), "hk")
	sock := filepath.Join(t.TempDir(), "notify")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	s1 := startServer(t, root, hk, []string{"NOTIFY_SOCKET=" + sock})
	nl.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, err := nl.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "READY=1") {
		t.Errorf("sd_notify: got %q, %v; want READY=1", buf[:n], err)
	}
	for _, f := range []string{"ssh_host_ed25519_key", "ssh_host_ecdsa_key"} {
		st, err := os.Stat(filepath.Join(hk, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: got %v, %v; want mode 0600", f, st, err)
		}
	}
	local := t.TempDir()
	writeRandom(t, filepath.Join(local, "data"), 1<<20)
	s1.mustSFTP(t, u.name, u.key, "put "+local+"/data\n")
	if err := s1.stop(t); err != nil {
		t.Errorf("stop on SIGTERM: got %v, want exit 0", err)
	}
	fps := func(out string) string {
		var fp []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "host" {
				fp = append(fp, f[3])
			}
		}
		return strings.Join(fp, " ")
	}
	s2 := startServer(t, root, hk, nil)
	if a, b := fps(s1.stdout), fps(s2.stdout); a != b || a == "" || strings.Contains(s2.stdout, "(new)") {
		t.Errorf("host keys after restart: got %q, want %q and none new", b, a)
	}
	s2.knownHosts = s1.knownHosts
	out, err := s2.sftp(t, u.name, u.key, "-get data "+local+"/back\n")
	if err != nil {
		t.Fatalf("after restart: %v: %s", err, out)
	}
	sameFile(t, filepath.Join(local, "data"), filepath.Join(local, "back"))
}

// TestMaxAuthTries cuts a connection off after --max-auth-tries failures,
// before the client gets to offer its right key.
func TestMaxAuthTries(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil, "--max-auth-tries", "2")
	args := s.sshArgs(newKey(t), "-P")
	args = append(args, "-i", newKey(t), "-i", newKey(t), "-i", u.key, "-b", "/dev/null", u.name+"@127.0.0.1")
	out, err := exec.Command("sftp", args...).CombinedOutput()
	if err == nil {
		t.Fatalf("fourth key after two allowed failures: got success, want cut off:\n%s", out)
	}
	if out, err := s.sftp(t, u.name, u.key, "ls\n"); err != nil {
		t.Errorf("right key alone: %v: %s", err, out)
	}
}
