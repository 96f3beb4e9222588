package proto

// Type is a frame's message type.
type Type uint8

// Message types of version 1. Connection messages travel on request id 0;
// the numbers are part of the protocol and never reused.
const (
	TypeHello   Type = 1 // client: versions, capabilities
	TypeWelcome Type = 2 // server: the chosen version
	TypeBye     Type = 3 // either: no new requests; finish and close

	TypeList      Type = 10 // snapshot of a subtree
	TypeStat      Type = 11 // entries of some paths
	TypeSubscribe Type = 12 // the live change feed of a subtree
	TypeChunks    Type = 13 // chunk list of a file
	TypeRead      Type = 14 // bytes of a file
	TypePut       Type = 15 // start or resume an upload
	TypeCopy      Type = 16 // upload: bytes from the file being replaced
	TypeData      Type = 17 // bytes (Read responses, uploads)
	TypeCommit    Type = 18 // upload: finish and rename into place
	TypeDelete    Type = 19
	TypeRename    Type = 20
	TypeMkdir     Type = 21
	TypeSymlink   Type = 22
	TypeSetAttr   Type = 23
	TypeVersions  Type = 24 // kept versions of a path
	TypeRestore   Type = 25
	TypeCancel    Type = 26 // client: stop this request
	TypeFlush     Type = 27 // make every change answered so far durable
	TypeNode      Type = 28 // a node synced a folder; which nodes did
	// TypeDirDigests (29, digest.go): the client's digests after a List.

	TypeEntryBatch  Type = 40 // entries of List or Stat
	TypeChanges     Type = 41 // change feed events
	TypeRescan      Type = 42 // change feed: events were lost
	TypeChunkList   Type = 43 // chunk refs of Chunks
	TypePutReady    Type = 44 // upload: where to resume
	TypeDone        Type = 45 // a request's success, with the new state
	TypeVersionList Type = 46
	TypeError       Type = 47 // a request's failure
	TypeNodeList    Type = 48 // the nodes that synced a folder
)

// Message is the body of one frame. Every message type is a struct whose
// pointer implements Message.
type Message interface {
	Type() Type
}

// HashMode says which content hashes a listing carries.
type HashMode uint8

// Hash modes: the zero value is the safe one.
const (
	HashesAll    HashMode = 0 // compute what is not cached
	HashesCached HashMode = 1 // only those cached; others zero
	HashesNone   HashMode = 2 // no hashes (metadata only)
)

// Format says how a folder's files are stored, and so how the server
// derives chunk lists and content hashes from them.
type Format uint8

// Formats of folders.
const (
	FormatPlain  Format = 0 // the file's bytes, chunked with DefaultChunker
	FormatSealed Format = 1 // encrypted records (PROTOCOL.md, "Sealed files")
)

// TransferID names an upload across reconnects: the client picks it at
// random and keeps it until the upload is committed or abandoned.
type TransferID [16]byte

// Expect is the state a change is based on: the server applies the change
// only if the path's current state matches, else it fails with
// CodeConflict and the current state. KindAbsent expects nothing there; a
// file is matched by Hash, a symlink by Target, a directory by its kind.
type Expect struct {
	_      struct{} `cbor:",toarray"`
	Kind   Kind
	Hash   Hash
	Target string
}

// Hello is the client's first frame: the protocol versions it speaks
// (every one, ascending), its capabilities and a free-form agent string.
type Hello struct {
	Versions []uint32 `cbor:"1,keyasint"`
	Caps     []string `cbor:"2,keyasint,omitempty"`
	Agent    string   `cbor:"3,keyasint,omitempty"`
}

// Welcome is the server's answer to Hello: the version chosen (the highest
// both speak; 0 for none, and the server closes), the capabilities both have, the server's epoch (new at every
// server start) and how many requests it serves at once.
type Welcome struct {
	Version     uint32   `cbor:"1,keyasint"`
	Caps        []string `cbor:"2,keyasint,omitempty"`
	Agent       string   `cbor:"3,keyasint,omitempty"`
	Epoch       uint64   `cbor:"4,keyasint"`
	MaxInflight uint32   `cbor:"5,keyasint"`
	// Versions lists every version the server speaks, so a client with
	// none in common (Version 0) can say which side to upgrade.
	Versions []uint32 `cbor:"6,keyasint"`
}

// Bye announces a clean shutdown: the sender starts no new requests (a
// client) or accepts none (a server), finishes those in flight, then
// closes.
type Bye struct {
	Reason string `cbor:"1,keyasint,omitempty"`
}

// List asks for a snapshot of the subtree at Path: the root entry first,
// then every entry below in depth-first order, names in byte order, in
// EntryBatch frames. With Digests (capability CapDigests) the List frame
// is not final: DirDigests frames follow, and the answer names each
// directory whose direct entries match one of them in EntryBatch.Same
// instead of sending those entries (PROTOCOL.md, "Digest listing").
type List struct {
	Path    string   `cbor:"1,keyasint"`
	Hashes  HashMode `cbor:"2,keyasint,omitempty"`
	Format  Format   `cbor:"3,keyasint,omitempty"`
	Digests bool     `cbor:"4,keyasint,omitempty"`
}

// Stat asks for the entries of some paths, in order (KindAbsent for a
// missing one), in one EntryBatch.
type Stat struct {
	Paths  []string `cbor:"1,keyasint"`
	Hashes HashMode `cbor:"2,keyasint,omitempty"`
	Format Format   `cbor:"3,keyasint,omitempty"`
}

// Subscribe opens the change feed of the subtree at Path: Changes and
// Rescan frames until the client cancels.
type Subscribe struct {
	Path   string `cbor:"1,keyasint"`
	Format Format `cbor:"2,keyasint,omitempty"`
}

// Chunks asks for the chunk list of the file at Path; a non-zero Hash must
// match the file's.
type Chunks struct {
	Path   string `cbor:"1,keyasint"`
	Hash   Hash   `cbor:"2,keyasint"`
	Format Format `cbor:"3,keyasint,omitempty"`
}

// Read asks for Length bytes at Offset of the file at Path, whose content
// hash must be Hash (zero: any). Length 0 reads to the end.
type Read struct {
	Path   string `cbor:"1,keyasint"`
	Hash   Hash   `cbor:"2,keyasint"`
	Offset uint64 `cbor:"3,keyasint,omitempty"`
	Length uint64 `cbor:"4,keyasint,omitempty"`
}
