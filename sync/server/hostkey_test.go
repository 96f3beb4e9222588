package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestLoadHostKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hk")
	first, err := LoadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256}
	if len(first) != 2 {
		t.Fatalf("got %d keys, want 2", len(first))
	}
	for i, k := range first {
		if got := k.Signer.PublicKey().Type(); got != wantTypes[i] || !k.Created {
			t.Errorf("key %d: got type %s created %v, want %s created", i, got, k.Created, wantTypes[i])
		}
		st, err := os.Stat(k.Path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: got %v, %v; want mode 0600", k.Path, st, err)
		}
		pub, err := os.ReadFile(k.Path + ".pub")
		if err != nil || !strings.HasPrefix(string(pub), wantTypes[i]+" ") {
			t.Errorf("%s.pub: got %q, %v", k.Path, pub, err)
		}
	}
	again, err := LoadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].Created || again[i].Fingerprint != first[i].Fingerprint {
			t.Errorf("reload %d: got %s created %v, want %s reused", i, again[i].Fingerprint, again[i].Created, first[i].Fingerprint)
		}
	}
	os.Chmod(first[0].Path, 0o644)
	if _, err := LoadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "want 0600") {
		t.Errorf("world-readable host key: got %v, want refused", err)
	}
}
