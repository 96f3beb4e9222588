package server_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestBadRequests speaks SSH with x/crypto's client to send what OpenSSH's
// tools never send: other channel types, oversized and unknown requests.
// Each gets a clean refusal and the connection stays usable.
func TestBadRequests(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)
	c := dialUser(t, s, u)
	for _, typ := range []string{"direct-tcpip", "x11", "forwarded-tcpip", "nonsense"} {
		if _, _, err := c.OpenChannel(typ, nil); err == nil {
			t.Errorf("channel %q: got accepted, want rejected", typ)
		}
	}
	ch, _, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []struct {
		typ     string
		payload []byte
	}{
		{"env", ssh.Marshal(struct{ Name, Value string }{"LD_PRELOAD", "/tmp/x.so"})},
		{"pty-req", bytes.Repeat([]byte{0}, 40)},
		{"subsystem", ssh.Marshal(struct{ Name string }{"sftp" + string(bytes.Repeat([]byte("x"), 10000))})},
		{"subsystem", []byte{0xff, 0xff}},
		{"subsystem", ssh.Marshal(struct{ Name string }{"../sftp"})},
		{"x11-req", nil},
		{"no-such-request", []byte("junk")},
	}
	for _, r := range reqs {
		ok, err := ch.SendRequest(r.typ, true, r.payload)
		if err != nil || ok {
			t.Errorf("request %s (%d bytes): got ok=%v err=%v, want refused", r.typ, len(r.payload), ok, err)
		}
	}
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"sftp"})); err != nil || !ok {
		t.Fatalf("sftp after refusals: got ok=%v err=%v, want accepted", ok, err)
	}
	ch.Close()
	if ok, _, err := c.SendRequest("tcpip-forward", true, ssh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0})); err != nil || ok {
		t.Errorf("tcpip-forward: got ok=%v err=%v, want refused", ok, err)
	}
}
