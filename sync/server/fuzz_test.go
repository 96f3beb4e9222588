package server

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"simplecloud/sync/sftpd"
)

// fakeAccounts knows one user, whose home is a test directory.
type fakeAccounts struct{ a Account }

func (f fakeAccounts) Lookup(name string) (Account, error) {
	if name != f.a.Name {
		return Account{}, os.ErrNotExist
	}
	return f.a, nil
}

// FuzzPreAuth feeds arbitrary client bytes to the server's handshake and
// authentication: it must return an error, never panic or hang.
func FuzzPreAuth(f *testing.F) {
	home := f.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), []byte(
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR a\n"), 0o600)
	keys, err := LoadHostKeys(filepath.Join(f.TempDir(), "hk"))
	if err != nil {
		f.Fatal(err)
	}
	a := &authenticator{
		cfg:      Config{}.Defaults(),
		accounts: fakeAccounts{Account{Name: "alice", UID: uint32(os.Getuid()), Home: home}},
		backoff:  nopEvents{}, log: slog.New(slog.DiscardHandler), now: time.Now,
	}
	cfg := a.serverConfig(keys)
	f.Add([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
	f.Add([]byte("SSH-2.0-x\r\n\x00\x00\x01\x0c\x0a\x14" + strings.Repeat("\x00", 300)))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte(strings.Repeat("SSH-1.99-", 100)))
	f.Fuzz(func(t *testing.T, in []byte) {
		srv, cli := net.Pipe()
		go io.Copy(io.Discard, cli)
		go func() {
			cli.Write(in)
			cli.Close()
		}()
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		sc, _, _, err := sshNewServerConn(srv, cfg)
		if err == nil {
			sc.Close()
			t.Fatal("handshake from fuzz bytes succeeded")
		}
		srv.Close()
	})
}

// FuzzAuthorizedKeys parses arbitrary authorized_keys content and options:
// no panics, and a key is only accepted with options the server honours.
func FuzzAuthorizedKeys(f *testing.F) {
	f.Add([]byte(`restrict,from="127.0.0.1" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR a`))
	f.Add([]byte(`restrict,command="internal-sftp" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR`))
	f.Add([]byte(`command="x" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR`))
	f.Add([]byte(`expiry-time="20991231",from="!1.2.3.4,*" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSJ6SyvEvtgVt2prH8mmSG3P1tETTH9mC2Mt9+4zGR`))
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	f.Fuzz(func(t *testing.T, in []byte) {
		keys, _ := parseAuthorizedKeys(in)
		for _, k := range keys {
			rules, err := checkOptions(k.Options, addr, time.Now())
			if err != nil {
				continue
			}
			for _, o := range k.Options {
				name, val, _ := strings.Cut(strings.ToLower(o), "=")
				if name == "command" && val != `"internal-sftp"` {
					t.Fatalf("accepted a key with option %q", o)
				}
				if !restrictions[name] && name != "from" && name != "expiry-time" && name != "command" {
					t.Fatalf("accepted a key with option %q", o)
				}
			}
			if rules.command != "" && rules.command != forceSFTP {
				t.Fatalf("accepted forced command %q", rules.command)
			}
		}
	})
}

// FuzzSFTP feeds arbitrary SFTP packets to a session served from a test
// root, next to which lies a file that must stay untouched and beside
// which nothing may appear.
func FuzzSFTP(f *testing.F) {
	base := f.TempDir()
	root := filepath.Join(base, "root")
	os.MkdirAll(filepath.Join(root, "dir"), 0o755)
	os.WriteFile(filepath.Join(root, "file"), []byte("in"), 0o644)
	os.WriteFile(filepath.Join(base, "outside"), []byte("out"), 0o644)
	os.Symlink("../outside", filepath.Join(root, "up"))
	os.Symlink(filepath.Join(base, "outside"), filepath.Join(root, "abs"))
	// frame makes one SFTP packet: length, type, request id, string fields.
	frame := func(typ byte, id uint32, fields ...string) []byte {
		body := binary.BigEndian.AppendUint32([]byte{typ}, id)
		for _, s := range fields {
			body = binary.BigEndian.AppendUint32(body, uint32(len(s)))
			body = append(body, s...)
		}
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	init := []byte{0, 0, 0, 5, 1, 0, 0, 0, 3}
	f.Add(append(append([]byte{}, init...), frame(13, 1, "../outside", "\x00\x00\x00\x00")...))         // remove
	f.Add(append(append([]byte{}, init...), frame(18, 2, "up", "x")...))                                // rename
	f.Add(append(append([]byte{}, init...), frame(20, 3, "/abs", "/y")...))                             // symlink
	f.Add(append(append([]byte{}, init...), frame(3, 4, "abs", "\x00\x00\x00\x1a\x00\x00\x00\x00")...)) // open
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			ServeSFTP(a, root, true, sftpd.Options{MaxHandles: 8}, slog.New(slog.DiscardHandler))
			close(done)
		}()
		go io.Copy(io.Discard, b)
		b.Write(in)
		b.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("sftp session did not end after its input closed")
		}
		if got, _ := os.ReadFile(filepath.Join(base, "outside")); string(got) != "out" {
			t.Fatalf("file outside the root changed: got %q", got)
		}
		ents, _ := os.ReadDir(base)
		if len(ents) != 2 {
			t.Fatalf("entries beside the root: got %d, want 2 (root, outside)", len(ents))
		}
	})
}

// sshNewServerConn is ssh.NewServerConn; a variable so the fuzz target reads plainly.
var sshNewServerConn = ssh.NewServerConn
