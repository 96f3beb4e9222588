package seal

import (
	"fmt"
	"io"
)

// Records reads src to its end, cuts it with sp and calls fn with each
// record a sealed file of it holds (the end record last), without
// encrypting anything: ids and payload lengths are all a file's hash needs
// (the server's, proto.SealedHasher, and the client's of its plaintext,
// which must agree). It gives the records Seal would write.
func (k *Key) Records(src io.Reader, sp Splitter, fn func(Record)) error {
	l := newList(k)
	idMAC := newMAC(k.chunkID)
	var plain uint64
	err := sp.Split(src, func(chunk []byte) error {
		if len(chunk) == 0 || len(chunk) > MaxChunk {
			return fmt.Errorf("seal: chunk of %d bytes, want 1..%d", len(chunk), MaxChunk)
		}
		r := Record{ID: chunkID(idMAC, chunk), Size: uint32(len(chunk) + TagSize)}
		l.add(r)
		plain += uint64(len(chunk))
		fn(r)
		return nil
	})
	if err != nil {
		return err
	}
	fn(Record{ID: l.sum(plain), Size: EndSize})
	return nil
}
