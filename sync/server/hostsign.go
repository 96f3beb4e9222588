package server

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"
)

// A connection child runs as the user once the client has authenticated,
// and SSH needs the host key for every key exchange after that (rekeying),
// so the child never holds a private host key: it asks the parent, which
// signs exchange hashes only, over a socket of its own (SignFD). The user
// can at most have hashes signed while the connection lasts, never carry a
// key away. This is how OpenSSH's monitor keeps the keys.
//
// A request is the key's index (1 byte), the hash's length (1 byte) and
// the hash; the answer is the signature's length (2 bytes, big-endian; 0
// when refused) and the signature in SSH wire format.

// hashSizes are the lengths of the exchange hashes SSH key exchanges sign
// (SHA-256, SHA-384, SHA-512).
var hashSizes = map[int]bool{32: true, 48: true, 64: true}

// remoteSigner is a host key of the parent, seen from a connection child.
type remoteSigner struct {
	pub ssh.PublicKey
	idx byte
	mu  *sync.Mutex // one request at a time on the socket
	rw  io.ReadWriter
}

// remoteSigners returns a signer for each public key (authorized_keys
// format) in the order the parent holds the keys, all asking over rw.
func remoteSigners(pubs []string, rw io.ReadWriter) ([]ssh.Signer, error) {
	if len(pubs) > 255 {
		return nil, fmt.Errorf("host keys: %d is too many", len(pubs))
	}
	mu := &sync.Mutex{}
	var out []ssh.Signer
	for i, p := range pubs {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("host key %d from the parent: %w", i, err)
		}
		out = append(out, &remoteSigner{pub: pub, idx: byte(i), mu: mu, rw: rw})
	}
	return out, nil
}

func (r *remoteSigner) PublicKey() ssh.PublicKey { return r.pub }

// Sign asks the parent to sign data, an exchange hash.
func (r *remoteSigner) Sign(_ io.Reader, data []byte) (*ssh.Signature, error) {
	if !hashSizes[len(data)] {
		return nil, fmt.Errorf("sign with host key: %d bytes is not an exchange hash", len(data))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.rw.Write(append([]byte{r.idx, byte(len(data))}, data...)); err != nil {
		return nil, fmt.Errorf("sign with host key: ask the server: %w", err)
	}
	var n [2]byte
	if _, err := io.ReadFull(r.rw, n[:]); err != nil {
		return nil, fmt.Errorf("sign with host key: read the answer: %w", err)
	}
	size := binary.BigEndian.Uint16(n[:])
	if size == 0 {
		return nil, errors.New("sign with host key: the server refused")
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r.rw, b); err != nil {
		return nil, fmt.Errorf("sign with host key: read the answer: %w", err)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(b, &sig); err != nil {
		return nil, fmt.Errorf("sign with host key: %w", err)
	}
	return &sig, nil
}

// serveSigns answers a connection child's requests with keys until rw ends
// or carries something that is not a request.
func serveSigns(rw io.ReadWriter, keys []ssh.Signer) error {
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(rw, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read signing request: %w", err)
		}
		idx, size := int(hdr[0]), int(hdr[1])
		if idx >= len(keys) || !hashSizes[size] {
			return fmt.Errorf("signing request for key %d over %d bytes: not a host key and exchange hash", idx, size)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(rw, data); err != nil {
			return fmt.Errorf("read signing request: %w", err)
		}
		var answer []byte
		if sig, err := keys[idx].Sign(rand.Reader, data); err == nil {
			answer = ssh.Marshal(sig)
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
		if _, err := rw.Write(append(out, answer...)); err != nil {
			return fmt.Errorf("answer signing request: %w", err)
		}
	}
}
