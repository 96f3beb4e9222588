package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/tink-crypto/tink-go/v2/daead/subtle"
	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of a folder key's secret.
const KeySize = 32

// hkdfSalt separates this format's derivations from any other use of the
// same secret.
const hkdfSalt = "simplecloud seal v1"

// Labels of the HKDF derivations (the info parameter); FORMAT.md lists them.
const (
	labelID      = "key id"
	labelGear    = "gear seed"
	labelName    = "name siv"
	labelChunkID = "chunk id"
	labelContent = "chunk aead"
	labelList    = "chunk list"
	labelMarker  = "key marker"
)

// Key is a folder key: 32 random bytes that only the person's clients hold,
// and the sub-keys derived from it. A Key is immutable and safe for
// concurrent use.
type Key struct {
	secret  [KeySize]byte
	id      string
	gear    []byte
	names   *subtle.AESSIV
	chunkID []byte
	content []byte
	list    []byte
	marker  []byte
}

// Generate returns a new key read from rand (crypto/rand.Reader, normally).
func Generate(rand io.Reader) (*Key, error) {
	var b [KeySize]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return nil, fmt.Errorf("generate folder key: %w", err)
	}
	return NewKey(b[:])
}

// NewKey returns the key whose secret is b, which must be KeySize bytes.
func NewKey(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("folder key: %d bytes, want %d", len(b), KeySize)
	}
	k := &Key{}
	copy(k.secret[:], b)
	id := k.derive(labelID, 8)
	k.id = hex.EncodeToString(id)
	k.gear = k.derive(labelGear, 32)
	siv, err := subtle.NewAESSIV(k.derive(labelName, subtle.AESSIVKeySize))
	if err != nil {
		return nil, fmt.Errorf("folder key: name cipher: %w", err)
	}
	k.names = siv
	k.chunkID = k.derive(labelChunkID, 32)
	k.content = k.derive(labelContent, chacha20poly1305.KeySize)
	k.list = k.derive(labelList, 32)
	k.marker = k.derive(labelMarker, 32)
	return k, nil
}

// derive returns n bytes of HKDF-SHA-256 of the secret with the format's
// salt and label as info.
func (k *Key) derive(label string, n int) []byte {
	b, err := hkdf.Key(sha256.New, k.secret[:], []byte(hkdfSalt), label, n)
	if err != nil {
		// Only a length over 255*32 bytes fails; ours are constants.
		panic("seal: hkdf: " + err.Error())
	}
	return b
}

// ID returns the key's id: 16 hex digits derived from the secret by HKDF,
// so it names the key (in file names, in a folder's configuration, on the
// server's marker) and reveals nothing about it.
func (k *Key) ID() string { return k.id }

// GearSeed returns the seed of the content-defined chunker's gear table for
// this folder (proto.NewChunker(proto.DefaultParams, k.GearSeed())), so
// that chunk boundaries, which the server sees as record sizes, depend on
// the key and not on the content alone.
func (k *Key) GearSeed() []byte { return append([]byte(nil), k.gear...) }

// newMAC returns the keyed hash of chunk ids and the chunk list:
// HMAC-SHA-256 (SHA-NI and ARMv8 hash SHA-256 at about twice the speed
// of SHA-512/256 or keyed BLAKE2b: see BenchmarkHMACSHA256 and beside).
func newMAC(key []byte) hash.Hash { return hmac.New(sha256.New, key) }

// Equal reports whether k and o hold the same secret, in constant time.
func (k *Key) Equal(o *Key) bool { return hmac.Equal(k.secret[:], o.secret[:]) }
