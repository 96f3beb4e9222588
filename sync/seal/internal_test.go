package seal

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// TestOpenChecksChunkID builds a record that only a key holder could make:
// a valid AEAD of one chunk under the id of another. Open must refuse it
// (the id is the chunk's name for dedup: it must be the chunk's).
func TestOpenChecksChunkID(t *testing.T) {
	k, err := NewKey(bytes.Repeat([]byte{9}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := chacha20poly1305.NewX(k.content)
	m := newMAC(k.chunkID)
	id := chunkID(m, []byte("the chunk the id names"))
	payload := aead.Seal(nil, id[:chacha20poly1305.NonceSizeX], []byte("another chunk"), chunkAD(id))
	sealed := AppendRecord([]byte(Magic), id, payload)
	_, err = k.Open(&bytes.Buffer{}, bytes.NewReader(sealed))
	if !errors.Is(err, ErrAuth) || !bytes.Contains([]byte(err.Error()), []byte("chunk id")) {
		t.Errorf("got %v, want ErrAuth about the chunk id", err)
	}
}
