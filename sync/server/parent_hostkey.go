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
	"syscall"

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
// 0600, in OpenSSH's format, with a .pub beside them). As sshd does with its
// keys, it refuses a key file that others may read or write or that does
// not belong to the server's user (root), and a directory that does not
// belong to that user or that group or others may write to: whoever can
// write there can swap the keys.
func LoadHostKeys(dir string) ([]HostKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make host key dir: %w", err)
	}
	euid := uint32(os.Geteuid())
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("check host key dir: %w", err)
	}
	if err := checkHostKeyDir(dir, st, euid); err != nil {
		return nil, err
	}
	var keys []HostKey
	for _, k := range hostKeyKinds {
		p := filepath.Join(dir, k.file)
		hk, err := loadHostKey(p, euid)
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

// checkHostKeyDir refuses a host key directory (st is its stat) that does
// not belong to euid or that group or others may write to.
func checkHostKeyDir(p string, st fs.FileInfo, euid uint32) error {
	if uid, ok := ownerOf(st); !ok || uid != euid {
		return fmt.Errorf("host key dir %s: bad ownership: uid %d, want %d (the server's user)", p, uid, euid)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("host key dir %s: bad modes: %#o is writable by group or others", p, st.Mode().Perm())
	}
	return nil
}

// checkHostKeyFile refuses a private host key (st is its stat) that others
// may read or write or that does not belong to euid.
func checkHostKeyFile(p string, st fs.FileInfo, euid uint32) error {
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("host key %s: mode %#o lets others read it, want 0600", p, st.Mode().Perm())
	}
	if uid, ok := ownerOf(st); !ok || uid != euid {
		return fmt.Errorf("host key %s: bad ownership: uid %d, want %d (the server's user)", p, uid, euid)
	}
	return nil
}

// ownerOf returns the owner of a file from its stat.
func ownerOf(st fs.FileInfo) (uint32, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return sys.Uid, true
}

func loadHostKey(p string, euid uint32) (HostKey, error) {
	f, err := os.Open(p)
	if err != nil {
		return HostKey{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return HostKey{}, fmt.Errorf("stat host key: %w", err)
	}
	if err := checkHostKeyFile(p, st, euid); err != nil {
		return HostKey{}, err
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
