package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestRemoteSigner has a child's signer ask a parent's serveSigns over a
// socket: signatures of exchange hashes verify against the host key; data
// that is no exchange hash is refused on both sides.
func TestRemoteSigner(t *testing.T) {
	var keys []ssh.Signer
	var pubs []string
	for range 2 {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		k, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		keys, pubs = append(keys, k), append(pubs, string(ssh.MarshalAuthorizedKey(k.PublicKey())))
	}
	child, parent := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- serveSigns(parent, keys) }()
	signers, err := remoteSigners(pubs, child)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range signers {
		if !bytes.Equal(s.PublicKey().Marshal(), keys[i].PublicKey().Marshal()) {
			t.Errorf("signer %d: public key differs from the parent's", i)
		}
		for _, size := range []int{32, 48, 64} {
			h := sha256.Sum256([]byte{byte(i), byte(size)})
			data := bytes.Repeat(h[:], 2)[:size]
			sig, err := s.Sign(rand.Reader, data)
			if err != nil {
				t.Fatalf("signer %d, %d bytes: %v", i, size, err)
			}
			if err := keys[i].PublicKey().Verify(data, sig); err != nil {
				t.Errorf("signer %d, %d bytes: signature does not verify: %v", i, size, err)
			}
		}
	}
	// The child refuses to ask for anything but an exchange hash...
	if _, err := signers[0].Sign(rand.Reader, []byte("arbitrary data to sign")); err == nil {
		t.Error("signing 22 bytes: got no error")
	}
	// ... and the parent, asked anyway, stops answering.
	child.Write([]byte{0, 22})
	if err := <-served; err == nil || !strings.Contains(err.Error(), "exchange hash") {
		t.Errorf("a request of 22 bytes: serveSigns returned %v", err)
	}
	child.Close()
}

// TestSetupHasNoPrivateKey checks that what the parent hands a connection
// child names its host keys by their public halves only.
func TestSetupHasNoPrivateKey(t *testing.T) {
	keys, err := LoadHostKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{}, keys, []string{"/bin/true"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(connSetup{Config: s.cfg, HostKeys: s.pubs})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !bytes.Contains(js, bytes.TrimSpace(ssh.MarshalAuthorizedKey(k.Signer.PublicKey()))) {
			t.Errorf("setup lacks the public key %s", k.Path)
		}
	}
	if bytes.Contains(js, []byte("PRIVATE")) || bytes.Contains(js, []byte(keys[0].Path)) {
		t.Errorf("setup names a private key: %s", js)
	}
}
