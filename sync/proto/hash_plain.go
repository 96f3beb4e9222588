package proto

import (
	"fmt"
	"os"
)

// PlainHasher computes the content hash of a plain folder's file as this
// protocol defines it (DefaultChunker's chunks, then FileHash). It has the
// method set of sync/scan's Hasher, so the server's and the client's
// scanners fill their caches with the same hashes that the wire carries.
type PlainHasher struct{}

// Name identifies the hash in sync/scan's cache: the protocol version and
// the chunking parameters, so a change of either misses every cached hash.
func (PlainHasher) Name() string { return plainName }

// plainName is PlainHasher's Name, made once: a scan asks for it for
// every file (a Sprintf each cost 6% of a server's re-listing CPU).
var plainName = fmt.Sprintf("scsync%d-cdc-%d-%d-%d", Version1, DefaultParams.Min, DefaultParams.Avg, DefaultParams.Max)

// Hash reads f from its current offset to its end and returns its file
// hash.
func (PlainHasher) Hash(f *os.File) ([32]byte, error) {
	h, _, err := HashReader(DefaultChunker(), f)
	return h, err
}
