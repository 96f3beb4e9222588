package server

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

func TestCheckOptions(t *testing.T) {
	addr := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5000}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.Local)
	tests := []struct {
		opts        []string
		wantErr     string // "" means accepted
		wantCommand string // the forced command of an accepted key
	}{
		{nil, "", ""},
		{[]string{"restrict"}, "", ""},
		{[]string{"no-pty", "No-Port-Forwarding", "no-agent-forwarding", "no-X11-forwarding", "no-user-rc"}, "", ""},
		{[]string{`from="192.0.2.*"`}, "", ""},
		{[]string{`from="10.0.0.0/8,192.0.2.0/24"`}, "", ""},
		{[]string{`from="10.0.0.0/8"`}, "does not match", ""},
		{[]string{`from="192.0.2.0/24,!192.0.2.7"`}, "does not match", ""},
		{[]string{`from="host.example.org"`}, "does not match", ""},
		{[]string{`from="1.2.3.0/99"`}, "bad CIDR", ""},
		{[]string{`expiry-time="20270101"`}, "", ""},
		{[]string{`expiry-time="202601011200"`}, "expired", ""},
		{[]string{`expiry-time="2026"`}, "want YYYYMMDD", ""},
		{[]string{"restrict", `command="internal-sftp"`}, "", "internal-sftp"},
		{[]string{`Command="internal-sftp"`, "no-pty", `from="192.0.2.0/24"`}, "", "internal-sftp"},
		{[]string{"restrict", `command="internal-sftp"`, `from="10.0.0.0/8"`}, "does not match", ""},
		{[]string{`command="/bin/true"`}, `command="/bin/true" is not supported: only command="internal-sftp"`, ""},
		{[]string{`command="/bin/date"`}, `command="/bin/date" is not supported: only command="internal-sftp"`, ""},
		{[]string{`command="internal-sftp -R"`}, `command="internal-sftp -R" is not supported`, ""},
		{[]string{`command="internal-sftp "`}, "is not supported", ""},
		{[]string{`command="/usr/lib/openssh/sftp-server"`}, "is not supported", ""},
		{[]string{`command=""`}, "is not supported", ""},
		{[]string{"command=internal-sftp"}, "is not quoted", ""},
		{[]string{`command="internal-sftp"`, `command="internal-sftp"`}, "more than one command=", ""},
		{[]string{"command"}, `unsupported option "command"`, ""},
		{[]string{"restrict", `environment="A=B"`}, `unsupported option "environment"`, ""},
		{[]string{`permitopen="localhost:80"`}, "unsupported", ""},
		{[]string{`principals="a"`}, "unsupported", ""},
		{[]string{"cert-authority"}, "unsupported", ""},
		{[]string{"pty"}, "unsupported", ""},
		{[]string{`tunnel="1"`}, "unsupported", ""},
		{[]string{"no-touch-required"}, "unsupported", ""},
		{[]string{"no-pty=1"}, "unsupported", ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.opts, ","), func(t *testing.T) {
			rules, err := checkOptions(tc.opts, addr, now)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
			if err == nil && rules.command != tc.wantCommand {
				t.Errorf("got forced command %q, want %q", rules.command, tc.wantCommand)
			}
		})
	}
}

func TestParseAuthorizedKeys(t *testing.T) {
	in := "# comment\n\n" +
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR a@b\n" +
		"garbage line\n" +
		`command="x",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR c` + "\n"
	keys, bad := parseAuthorizedKeys([]byte(in))
	if len(keys) != 2 || len(bad) != 1 || bad[0] != 4 {
		t.Fatalf("got %d keys, bad lines %v; want 2 keys, bad [4]", len(keys), bad)
	}
	if keys[1].Line != 5 || len(keys[1].Options) != 2 || keys[1].Options[0] != `command="x"` {
		t.Errorf("got line %d options %q, want line 5 [command=\"x\" no-pty]", keys[1].Line, keys[1].Options)
	}
}

// TestStrictModes checks the ownership and mode rules on real files that
// belong to a made-up uid (root gives them away), read with that uid.
func TestStrictModes(t *testing.T) {
	testutil.NeedRoot(t)
	const user, other = 777777, 4242
	tests := []struct {
		name     string
		homeMode os.FileMode
		sshMode  os.FileMode
		fileMode os.FileMode
		fileUID  int
		wantErr  string
	}{
		{"good", 0o755, 0o700, 0o600, user, ""},
		{"readable file is fine", 0o755, 0o755, 0o644, user, ""},
		{"root-owned file is fine", 0o755, 0o700, 0o644, 0, ""},
		{"group-writable file", 0o755, 0o700, 0o620, user, "bad modes"},
		{"world-writable .ssh", 0o755, 0o777, 0o600, user, "bad modes"},
		{"group-writable home", 0o775, 0o700, 0o600, user, "bad modes"},
		{"owned by someone else", 0o755, 0o700, 0o644, other, "bad ownership"},
		{"unreadable for the user", 0o755, 0o700, 0o600, other, "permission denied"},
		{"readable only by root's group", 0o755, 0o700, 0o640, 0, "permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			os.Chmod(filepath.Dir(base), 0o755)
			os.Chmod(base, 0o755)
			home := filepath.Join(base, "home")
			ssh := filepath.Join(home, ".ssh")
			p := filepath.Join(ssh, "authorized_keys")
			if err := os.MkdirAll(ssh, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				p   string
				m   os.FileMode
				uid int
			}{{home, tc.homeMode, user}, {ssh, tc.sshMode, user}, {p, tc.fileMode, tc.fileUID}} {
				gid := user
				if c.uid == 0 {
					gid = 0 // root's file, root's group
				}
				if err := os.Chown(c.p, c.uid, gid); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(c.p, c.m); err != nil {
					t.Fatal(err)
				}
			}
			_, err := readAuthorizedKeys(p, home, user, user, []uint32{user})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestAuthorizedKeysFIFO(t *testing.T) {
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
	p := filepath.Join(home, ".ssh", "authorized_keys")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readAuthorizedKeys(p, home, uint32(os.Getuid()), uint32(os.Getgid()), nil)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v, want a refusal that does not hang", err)
	}
}

// TestAsUserFSRestores runs a function with a user's file-system ids and
// groups on a locked thread and checks that the thread gets its own back.
func TestAsUserFSRestores(t *testing.T) {
	testutil.NeedRoot(t)
	status := func() string {
		b, err := os.ReadFile("/proc/thread-self/status")
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:") || strings.HasPrefix(l, "Groups:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		before := status()
		var during string
		err := asUserFS(65534, 65534, []uint32{65534, 65533}, func() error {
			during = status()
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if !strings.Contains(during, "Groups:\t65533 65534") || !strings.Contains(during, "\t65534\n") {
			t.Errorf("inside: got\n%s\nwant fsuid 65534 and groups 65533 65534", during)
		}
		if after := status(); after != before {
			t.Errorf("after: got\n%s\nwant as before\n%s", after, before)
		}
	}()
	<-done
}
