package replica

import (
	"bytes"
	"encoding/json"
	"fmt"

	"simplecloud/sync/proto"
	"simplecloud/sync/seal"
)

// manifestVersion is the version of the manifest's JSON; FORMAT.md.
const manifestVersion = 1

// Kinds of entries in a manifest.
const (
	KindFile    = "file"
	KindDir     = "dir"
	KindSymlink = "symlink"
)

// Snapshot is the manifest of one run: every tree replicated, with every
// entry and, for files, its record list. It is stored sealed (seal.Seal of
// its JSON), so names, sizes and times are as secret as contents.
type Snapshot struct {
	Version int    `json:"version"`
	Time    int64  `json:"time"` // start of the run, ns since the epoch (UTC)
	KeyID   string `json:"key_id"`
	Trees   []Tree `json:"trees"`
}

// Tree is one replicated source: a user's whole tree ("alice") or one
// folder of it ("alice:Documents").
type Tree struct {
	Name    string  `json:"name"`
	Entries []Entry `json:"entries"`
}

// Entry is one file, directory or symbolic link of a tree. Ino and Ctime
// are the source's, only to tell the next run that a file is unchanged.
type Entry struct {
	Path   string  `json:"path"` // relative to the tree, slash-separated
	Kind   string  `json:"kind"`
	Mode   uint32  `json:"mode"` // permission bits with setuid, setgid, sticky
	Mtime  int64   `json:"mtime"`
	Size   int64   `json:"size,omitempty"`
	Ino    uint64  `json:"ino,omitempty"`
	Ctime  int64   `json:"ctime,omitempty"`
	Target string  `json:"target,omitempty"`
	Chunks []Chunk `json:"chunks,omitempty"` // record list, the end record last
}

// Chunk is one record of a file: seal.Record with the id as bytes.
type Chunk struct {
	ID   []byte `json:"id"`
	Size uint32 `json:"size"`
}

// Records returns e's record list as seal.CheckList takes it.
func (e *Entry) Records() ([]seal.Record, error) {
	recs := make([]seal.Record, len(e.Chunks))
	for i, c := range e.Chunks {
		if len(c.ID) != seal.IDSize {
			return nil, fmt.Errorf("%s: record %d: id of %d bytes", e.Path, i, len(c.ID))
		}
		recs[i] = seal.Record{Size: c.Size}
		copy(recs[i].ID[:], c.ID)
	}
	return recs, nil
}

// chunkParams are the replica's chunk sizes: 512 KiB, 2 MiB, 4 MiB (the
// protocol's largest), coarser than the sync's 64 KiB / 256 KiB / 1 MiB.
// Every chunk is one PUT: a 1 GiB file is about 500 objects rather than
// 4,000, and an S3 service's cost is mostly per request (the bench's first
// run against a local Ceph RGW). A backup's edits cost a chunk or two of
// upload, as restic's and borg's (1-2 MiB on average) do. Restore and
// verify read the sizes from the record lists, so a bucket holds chunks
// of either size alike.
var chunkParams = proto.Params{Min: 512 << 10, Avg: 2 << 20, Max: proto.MaxChunk}

// chunker returns the splitter that goes with k (its keyed gear table).
func chunker(k *seal.Key) (*proto.Chunker, error) {
	c, err := proto.NewChunker(chunkParams, k.GearSeed())
	if err != nil {
		return nil, fmt.Errorf("chunker: %w", err)
	}
	return c, nil
}

// SealSnapshot encodes s and seals it under k: the bytes of a snapshot
// object.
func SealSnapshot(k *seal.Key, s *Snapshot) ([]byte, error) {
	js, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	c, err := chunker(k)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := k.Seal(&b, bytes.NewReader(js), c); err != nil {
		return nil, fmt.Errorf("seal snapshot: %w", err)
	}
	return b.Bytes(), nil
}

// OpenSnapshot opens a snapshot object sealed by SealSnapshot. A changed
// object, or one sealed under another key, fails with an error wrapping
// seal.ErrAuth (or another of seal's conditions).
func OpenSnapshot(k *seal.Key, b []byte) (*Snapshot, error) {
	var js bytes.Buffer
	if _, err := k.Open(&js, bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	var s Snapshot
	dec := json.NewDecoder(&js)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if s.Version != manifestVersion {
		return nil, fmt.Errorf("snapshot version %d: this program reads version %d", s.Version, manifestVersion)
	}
	if s.KeyID != k.ID() {
		return nil, fmt.Errorf("snapshot names key %s, not %s", s.KeyID, k.ID())
	}
	return &s, nil
}

// Tree returns the tree named name, or nil.
func (s *Snapshot) Tree(name string) *Tree {
	for i := range s.Trees {
		if s.Trees[i].Name == name {
			return &s.Trees[i]
		}
	}
	return nil
}
