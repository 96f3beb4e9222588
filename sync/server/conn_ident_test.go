package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestCheckIdent(t *testing.T) {
	long := "SSH-2.0-" + strings.Repeat("x", 300)
	cases := []struct {
		in       string
		complete bool
		bad      bool
	}{
		{"", false, false},
		{"S", false, false},
		{"SSH-2.", false, false},
		{"SSH-2.0-OpenSSH_9.2", false, false},
		{"SSH-2.0-OpenSSH_9.2\r\n", true, false},
		{"SSH-2.0-OpenSSH_9.2\n", true, false},
		{"SSH-2.0-x\r\n\x00\x00\x01\x0c\x0a\x14", true, false},
		{"SSH-1.99-PuTTY\r\n", true, false},
		{"SSH-1.", false, false},
		{"SSH-1.5-old\r\n", false, true},
		{"SSH-2.0\r\n", false, true},
		{"SSH-2\n", false, true},
		{"G", false, true},
		{"GET / HTTP/1.1\r\n\r\n", false, true},
		{"\r\n", false, true},
		{"banner\r\nSSH-2.0-x\r\n", false, true}, // only servers may send lines first
		{long[:identMax-2] + "\r\n", true, false},
		{long[:identMax-1] + "\r\n", false, true},
		{long[:identMax-1], false, false},
		{long[:identMax], false, true},
		{long, false, true},
	}
	for _, tc := range cases {
		complete, err := checkIdent([]byte(tc.in))
		if complete != tc.complete || (err != nil) != tc.bad {
			t.Errorf("%.40q: got complete %v, err %v; want %v, bad %v", tc.in, complete, err, tc.complete, tc.bad)
		}
	}
}

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	client.SetDeadline(time.Now().Add(10 * time.Second))
	server.SetDeadline(time.Now().Add(10 * time.Second))
	return client, server
}

// TestExchangeIdentHandshake runs a real SSH handshake over the wrapped
// connection: the ssh package must see the client's line again and must
// not send its own twice.
func TestExchangeIdentHandshake(t *testing.T) {
	keys, err := LoadHostKeys(t.TempDir() + "/hk")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true, ServerVersion: "SSH-2.0-SimpleCloud"}
	cfg.AddHostKey(keys[0].Signer)
	cli, srv := pair(t)
	done := make(chan error, 1)
	go func() {
		nc, err := exchangeIdent(srv, cfg.ServerVersion)
		if err != nil {
			done <- err
			return
		}
		sc, _, _, err := ssh.NewServerConn(nc, cfg)
		if err == nil {
			defer sc.Close()
			if string(sc.ClientVersion()) != "SSH-2.0-Go" {
				err = errors.New("client version " + string(sc.ClientVersion()))
			}
		}
		done <- err
	}()
	cc, _, _, err := ssh.NewClientConn(cli, "x", &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	defer cc.Close()
	if string(cc.ServerVersion()) != "SSH-2.0-SimpleCloud" {
		t.Errorf("server version: got %q", cc.ServerVersion())
	}
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
}

// TestExchangeIdentRefuses checks that an HTTP request gets the server's
// line, sshd's message and an error at once, and that a client that waits
// for the server's line first gets it.
func TestExchangeIdentRefuses(t *testing.T) {
	cli, srv := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := exchangeIdent(srv, "SSH-2.0-SimpleCloud")
		srv.Close()
		done <- err
	}()
	line, err := bufio.NewReader(cli).ReadString('\n')
	if err != nil || line != "SSH-2.0-SimpleCloud\r\n" {
		t.Fatalf("server's line before the client's: got %q, %v", line, err)
	}
	io.WriteString(cli, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	rest, _ := io.ReadAll(cli)
	if string(rest) != identReply {
		t.Errorf("reply: got %q, want %q", rest, identReply)
	}
	var bad *identError
	if err := <-done; !errors.As(err, &bad) || !strings.Contains(err.Error(), "GET / HTTP") {
		t.Errorf("got %v, want an identError quoting the request", err)
	}
}

// FuzzCheckIdent checks that a line checkIdent calls complete is an SSH
// 2.0 (or 1.99) identification of at most identMax bytes, and that every
// prefix of it was let through.
func FuzzCheckIdent(f *testing.F) {
	f.Add([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("SSH-1.99-x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		complete, err := checkIdent(in)
		if !complete {
			return
		}
		if err != nil {
			t.Fatalf("%q: complete with error %v", in, err)
		}
		line, _, _ := strings.Cut(string(in), "\n")
		if len(line)+1 > identMax || !strings.HasPrefix(line, "SSH-2.0-") && !strings.HasPrefix(line, "SSH-1.99-") {
			t.Fatalf("%q: accepted", line)
		}
		for i := range len(line) {
			if _, err := checkIdent(in[:i]); err != nil {
				t.Fatalf("prefix %q of an accepted line refused: %v", in[:i], err)
			}
		}
	})
}
