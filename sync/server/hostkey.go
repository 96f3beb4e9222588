package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// HostKey is one host key and what the operator needs to know about it.
type HostKey struct {
	Signer      ssh.Signer
	Path        string
	Fingerprint string // SHA256:... as ssh-keygen -l prints it
	Created     bool   // made by this call
}

// hostKeyKinds are the host keys the server keeps, in preference order.
var hostKeyKinds = []struct {
	file string
	gen  func() (crypto.Signer, error)
}{
	{"ssh_host_ed25519_key", func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{"ssh_host_ecdsa_key", func() (crypto.Signer, error) {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}},
}

// LoadHostKeys reads the host keys from dir, making the missing ones (mode
// 0600, in OpenSSH's format, with a .pub beside them). A key file that others
// may read or write is refused, as sshd does.
func LoadHostKeys(dir string) ([]HostKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make host key dir: %w", err)
	}
	var keys []HostKey
	for _, k := range hostKeyKinds {
		p := filepath.Join(dir, k.file)
		hk, err := loadHostKey(p)
		if errors.Is(err, fs.ErrNotExist) {
			hk, err = createHostKey(p, k.gen)
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, hk)
	}
	return keys, nil
}

func loadHostKey(p string) (HostKey, error) {
	f, err := os.Open(p)
	if err != nil {
		return HostKey{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return HostKey{}, fmt.Errorf("stat host key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return HostKey{}, fmt.Errorf("host key %s: mode %#o lets others read it, want 0600", p, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return HostKey{}, fmt.Errorf("read host key %s: %w", p, err)
	}
	defer clear(b)
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return HostKey{}, fmt.Errorf("parse host key %s: %w", p, err)
	}
	return HostKey{Signer: s, Path: p, Fingerprint: ssh.FingerprintSHA256(s.PublicKey())}, nil
}

func createHostKey(p string, gen func() (crypto.Signer, error)) (HostKey, error) {
	k, err := gen()
	if err != nil {
		return HostKey{}, fmt.Errorf("generate host key: %w", err)
	}
	blk, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		return HostKey{}, fmt.Errorf("encode host key: %w", err)
	}
	b := pem.EncodeToMemory(blk)
	defer clear(b)
	s, err := ssh.NewSignerFromSigner(k)
	if err != nil {
		return HostKey{}, fmt.Errorf("host key signer: %w", err)
	}
	tmp := p + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return HostKey{}, fmt.Errorf("create host key: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.WriteFile(p+".pub", ssh.MarshalAuthorizedKey(s.PublicKey()), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return HostKey{}, fmt.Errorf("write host key %s: %w", p, err)
	}
	return HostKey{Signer: s, Path: p, Fingerprint: ssh.FingerprintSHA256(s.PublicKey()), Created: true}, nil
}
