package proto

// Put starts an upload to Path, based on Expect. The client then sends
// Data and Copy frames in ascending, contiguous order from the offset of
// the server's PutReady (0 unless Resume), and Commit as its final frame.
// Without Resume the client need not wait for PutReady.
type Put struct {
	Transfer TransferID `cbor:"1,keyasint"`
	Path     string     `cbor:"2,keyasint"`
	Expect   Expect     `cbor:"3,keyasint"`
	Resume   bool       `cbor:"4,keyasint,omitempty"`
	Format   Format     `cbor:"5,keyasint,omitempty"`
}

// PutReady tells where the upload continues: the bytes before Offset are in
// the server's temporary file, synced to disk.
type PutReady struct {
	Offset uint64 `cbor:"1,keyasint"`
}

// Copy appends Length bytes taken from BaseOffset of the file being
// replaced (the one Put's Expect names) at Offset of the upload: the delta
// for chunks the server already has.
type Copy struct {
	Offset     uint64 `cbor:"1,keyasint"`
	BaseOffset uint64 `cbor:"2,keyasint"`
	Length     uint64 `cbor:"3,keyasint"`
}

// Data carries bytes of a file at Offset: a Read's answer or an upload's
// content. On the wire its body is not CBOR: an 8-byte big-endian offset,
// then the bytes (at most MaxData).
type Data struct {
	Offset uint64
	Bytes  []byte
	pooled *[]byte // Bytes's buffer, from dataBufs (see readFrame)
}

// Release gives the buffer of a received Data back for a later frame:
// its Bytes must not be used after, by anyone. It does nothing for a Data
// that was not received, or whose buffer was not pooled; a Data never
// released is collected as any other value.
func (d *Data) Release() {
	if d.pooled != nil {
		dataBufs.Put(d.pooled)
		d.pooled, d.Bytes = nil, nil
	}
}

// Commit ends an upload: the server checks that the bytes it holds have
// Size and content hash Hash, sets Mode and Mtime, syncs, keeps the
// replaced file as a version and renames into place if Path still matches
// Put's Expect.
type Commit struct {
	Size  uint64 `cbor:"1,keyasint"`
	Mtime int64  `cbor:"2,keyasint"`
	Mode  uint32 `cbor:"3,keyasint"`
	Hash  Hash   `cbor:"4,keyasint"`
}

// Delete removes Path (a directory only when empty) if it matches Expect.
type Delete struct {
	Path   string `cbor:"1,keyasint"`
	Expect Expect `cbor:"2,keyasint"`
}

// Rename moves From to To if From matches Expect and To matches ExpectTo
// (usually KindAbsent). What To held is kept as a version.
type Rename struct {
	From     string `cbor:"1,keyasint"`
	To       string `cbor:"2,keyasint"`
	Expect   Expect `cbor:"3,keyasint"`
	ExpectTo Expect `cbor:"4,keyasint"`
}

// Mkdir creates the directory Path; an existing directory is success, any
// other kind there is a conflict.
type Mkdir struct {
	Path  string `cbor:"1,keyasint"`
	Mode  uint32 `cbor:"2,keyasint"`
	Mtime int64  `cbor:"3,keyasint,omitempty"`
}

// Symlink creates a symbolic link at Path pointing to Target, replacing
// what Expect names.
type Symlink struct {
	Path   string `cbor:"1,keyasint"`
	Target string `cbor:"2,keyasint"`
	Expect Expect `cbor:"3,keyasint"`
}

// SetAttr sets the mode and mtime of Path if it matches Expect.
type SetAttr struct {
	Path   string `cbor:"1,keyasint"`
	Expect Expect `cbor:"2,keyasint"`
	Mode   uint32 `cbor:"3,keyasint"`
	Mtime  int64  `cbor:"4,keyasint"`
}

// Versions asks for the kept versions of Path, oldest first.
type Versions struct {
	Path string `cbor:"1,keyasint"`
}

// Restore brings back version Version of Path, to To (Path when empty),
// if To's current state matches Expect; that state is itself kept.
type Restore struct {
	Path    string `cbor:"1,keyasint"`
	Version string `cbor:"2,keyasint"`
	Expect  Expect `cbor:"3,keyasint"`
	To      string `cbor:"4,keyasint,omitempty"`
}

// Cancel stops the request with its id; the server answers with a final
// Error of CodeCanceled (or the result, if it won the race). A cancelled
// upload keeps its temporary file for a resume unless Discard.
type Cancel struct {
	Discard bool `cbor:"1,keyasint,omitempty"`
}

// Flush asks the server to make every change it has answered on this
// connection durable (the directory entries it made, renamed or removed);
// the answer is a final Done. Only with CapFlush: a server that offers it
// may answer changes before their directory entries are on disk, and a
// client that asked for it must Flush before it records what it changed
// (its ancestor). File contents are always on disk before they are
// renamed into place.
type Flush struct{}

// EntryBatch carries entries of a List or Stat. Same, in the answer to a
// List with digests, numbers the client's DirDigests whose directories
// hold exactly the entries the client digested: those are not sent.
type EntryBatch struct {
	Entries Entries  `cbor:"1,keyasint"`
	Same    []uint32 `cbor:"2,keyasint,omitempty"`
}

// Changes carries change feed events: the new state of each path that
// changed (KindAbsent: deleted). Seq counts Changes frames of this
// subscription from 1; a gap, or an Epoch other than the Welcome's, means
// events were lost.
type Changes struct {
	Epoch   uint64  `cbor:"1,keyasint"`
	Seq     uint64  `cbor:"2,keyasint"`
	Entries Entries `cbor:"3,keyasint"`
}

// Rescan tells a subscriber that events were lost (a queue overflowed, a
// watch limit was hit): its view of the subtree is stale until it lists it
// again.
type Rescan struct {
	Epoch  uint64 `cbor:"1,keyasint"`
	Reason string `cbor:"2,keyasint,omitempty"`
}

// ChunkList carries a file's chunk refs in order; the final one also has
// the file's content hash and size, which the chunks must add up to.
type ChunkList struct {
	Chunks []ChunkRef `cbor:"1,keyasint"`
	Hash   Hash       `cbor:"2,keyasint"`
	Size   uint64     `cbor:"3,keyasint,omitempty"`
}

// Done is a request's success; Entry is the path's new state where there
// is one.
type Done struct {
	Entry *Entry `cbor:"1,keyasint,omitempty"`
}

// Version is one kept version of a file: its opaque ID (for Restore), when
// it was kept (ns since the epoch), and its entry as it was.
type Version struct {
	ID    string `cbor:"1,keyasint"`
	Kept  int64  `cbor:"2,keyasint"`
	Entry Entry  `cbor:"3,keyasint"`
}

// VersionList carries versions of Versions.
type VersionList struct {
	Versions []Version `cbor:"1,keyasint"`
}
