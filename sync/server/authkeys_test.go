package server

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckOptions(t *testing.T) {
	addr := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5000}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.Local)
	tests := []struct {
		opts    []string
		wantErr string // "" means accepted
	}{
		{nil, ""},
		{[]string{"restrict"}, ""},
		{[]string{"no-pty", "No-Port-Forwarding", "no-agent-forwarding", "no-X11-forwarding", "no-user-rc"}, ""},
		{[]string{`from="192.0.2.*"`}, ""},
		{[]string{`from="10.0.0.0/8,192.0.2.0/24"`}, ""},
		{[]string{`from="10.0.0.0/8"`}, "does not match"},
		{[]string{`from="192.0.2.0/24,!192.0.2.7"`}, "does not match"},
		{[]string{`from="host.example.org"`}, "does not match"},
		{[]string{`from="1.2.3.0/99"`}, "bad CIDR"},
		{[]string{`expiry-time="20270101"`}, ""},
		{[]string{`expiry-time="202601011200"`}, "expired"},
		{[]string{`expiry-time="2026"`}, "want YYYYMMDD"},
		{[]string{`command="/bin/true"`}, `unsupported option "command"`},
		{[]string{"restrict", `environment="A=B"`}, `unsupported option "environment"`},
		{[]string{`permitopen="localhost:80"`}, "unsupported"},
		{[]string{`principals="a"`}, "unsupported"},
		{[]string{"cert-authority"}, "unsupported"},
		{[]string{"pty"}, "unsupported"},
		{[]string{`tunnel="1"`}, "unsupported"},
		{[]string{"no-touch-required"}, "unsupported"},
		{[]string{"no-pty=1"}, "unsupported"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.opts, ","), func(t *testing.T) {
			err := checkOptions(tc.opts, addr, now)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
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

// TestStrictModes checks the ownership and mode rules on real files. The
// files belong to the test's user, which plays "the user" or "someone else".
func TestStrictModes(t *testing.T) {
	me := uint32(os.Getuid())
	tests := []struct {
		name     string
		homeMode os.FileMode
		sshMode  os.FileMode
		fileMode os.FileMode
		uid      uint32
		wantErr  string
	}{
		{"good", 0o755, 0o700, 0o600, me, ""},
		{"readable file is fine", 0o755, 0o755, 0o644, me, ""},
		{"group-writable file", 0o755, 0o700, 0o620, me, "bad modes"},
		{"world-writable .ssh", 0o755, 0o777, 0o600, me, "bad modes"},
		{"group-writable home", 0o775, 0o700, 0o600, me, "bad modes"},
		{"owned by someone else", 0o755, 0o700, 0o600, me + 4242, "bad ownership"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			ssh := filepath.Join(home, ".ssh")
			p := filepath.Join(ssh, "authorized_keys")
			if err := os.MkdirAll(ssh, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				p string
				m os.FileMode
			}{{home, tc.homeMode}, {ssh, tc.sshMode}, {p, tc.fileMode}} {
				if err := os.Chmod(c.p, c.m); err != nil {
					t.Fatal(err)
				}
			}
			if me == 0 {
				// root owns everything here, and root is always accepted
				// as owner; to test "someone else", give away the file.
				if tc.uid != me {
					if err := os.Chown(p, int(tc.uid), -1); err != nil {
						t.Fatal(err)
					}
				}
			} else if tc.uid != me {
				t.Skip("giving a file away needs root")
			}
			_, err := readAuthorizedKeys(p, home, 777777)
			if me != 0 {
				_, err = readAuthorizedKeys(p, home, me)
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
