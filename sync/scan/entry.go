package scan

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"simplecloud/sync/dirty"
)

// Kind is what an entry is. Other file types (fifos, sockets, devices) are
// not reported, only counted in Summary.Other.
type Kind uint8

// The kinds of entries a scan reports.
const (
	File Kind = iota + 1
	Dir
	Symlink
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Dir:
		return "dir"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Entry is one file, directory or symbolic link of the tree. The scanner
// reuses nothing it hands out: the callback may keep the Entry.
type Entry struct {
	Path    string // relative to the root, slash-separated, no leading slash: "a/b"
	Kind    Kind
	Size    int64  // bytes; a symbolic link's is its target's length
	Mtime   int64  // modification time, ns since the epoch
	Mode    uint32 // permission bits (0o777)
	Special uint32 // setuid, setgid and sticky bits as found (0o7000); the sync does not carry them
	Ino     uint64 // inode number, for the caller's own rename detection; not portable
	Hash    [32]byte
	Target  string // a symbolic link's target, as stored, never followed
	// Unstable says a file changed while it was read: Hash is unknown and
	// the caller scans the file again later.
	Unstable bool
	// Err says a file's content could not be read (e.g. no read
	// permission): Hash is unknown. The metadata is valid.
	Err error
}

// HasHash reports whether e is a file with a known content hash.
func (e *Entry) HasHash() bool { return e.Kind == File && !e.Unstable && e.Err == nil }

// Hasher computes a file's content hash. Name identifies the algorithm and
// its parameters; it is part of every cached hash, so a new Name makes all
// cached hashes miss. Hash reads f from its start to its end and must not
// keep f. A Scanner calls it from several goroutines at once (see
// Options.Workers), each with its own file.
type Hasher interface {
	Name() string
	Hash(f *os.File) ([32]byte, error)
}

// A Deferrer is a Hasher that may leave files unread for now. The scanner
// asks Defer before it opens a file it would hash: a non-nil error is
// reported as the entry's Err, as a failed Hash would be, and the file is
// not opened (an open, an fstat and a close per file saved: a first sync
// of 10,000 new files defers all of them).
type Deferrer interface {
	Hasher
	Defer() error
}

// Options configure a Scanner.
type Options struct {
	// Hasher hashes regular files; nil reports files without a hash.
	Hasher Hasher
	// Exclude, when set, is asked for every entry (dir says whether it is a
	// directory); true leaves the entry out, and a directory's whole
	// subtree with it. ".simplecloud" at the root is always left out.
	Exclude func(path string, dir bool) bool
	// NoCache disables the extended attribute hash cache: no reads, no
	// writes.
	NoCache bool
	// RacyWindow is how old a file's last change (mtime and ctime) must be
	// when it is hashed for the hash to be cached (default 2s, enough for
	// file systems that keep whole seconds). See the package doc.
	RacyWindow time.Duration
	// Workers is how many files' entries are made at once (stat,
	// attribute read, hashing), beside the walker, which lists the
	// directories and makes their entries: the work is mostly system
	// calls and reads, which run in parallel. One has the walker make
	// every entry itself, in walk order. Default: GOMAXPROCS, at most 4.
	Workers int
	// Oracle, when set, tells which directories changed since the last
	// walk with an index (WalkStored): the files of one that did not are
	// reported from the index without a stat (see Index). Nil: every
	// file is stat'ed, as on the client, which has no oracle.
	Oracle Oracle
	// Logger gets one line per file system on which the cache is off.
	Logger *slog.Logger
}

// Oracle tells which directories, by handle (sync/dirty.Handle), changed
// since a stamp, and the stamp now: sync/dirty's Client.
type Oracle interface {
	Changed(since dirty.Stamp, handles [][]byte) (dirty.Stamp, []bool, error)
}

// PathError names a directory whose contents were not scanned, and why.
type PathError struct {
	Path string // "" is the root
	Err  error
}

func (e PathError) Error() string { return fmt.Sprintf("scan %q: %v", e.Path, e.Err) }

// Unwrap returns the cause, so errors.Is(err, fs.ErrNotExist) works.
func (e PathError) Unwrap() error { return e.Err }

// Summary counts what a walk saw.
type Summary struct {
	Files, Dirs, Symlinks int
	Other                 int   // fifos, sockets, devices: not reported
	Excluded              int   // entries left out by Exclude or .simplecloud (a directory counts once)
	Hashed                int   // files read and hashed
	HashedBytes           int64 // bytes read by the hasher
	CacheHits             int   // files whose cached hash was valid
	CacheStored           int   // hashes written to the cache
	IndexHits             int   // files whose hash the index had (see Index)
	Reused                int   // of those, files reported from the index without a stat (Options.Oracle)
	Unstable              int   // files that changed while being hashed
	Unreadable            int   // files reported with Err
	// Unscanned lists the directories whose contents are unknown (not
	// readable, replaced during the scan): the caller must not conclude
	// that anything below them was deleted.
	Unscanned []PathError
}

// Add adds o's counts to s.
func (s *Summary) Add(o Summary) {
	s.Files += o.Files
	s.Dirs += o.Dirs
	s.Symlinks += o.Symlinks
	s.Other += o.Other
	s.Excluded += o.Excluded
	s.Hashed += o.Hashed
	s.HashedBytes += o.HashedBytes
	s.CacheHits += o.CacheHits
	s.CacheStored += o.CacheStored
	s.IndexHits += o.IndexHits
	s.Reused += o.Reused
	s.Unstable += o.Unstable
	s.Unreadable += o.Unreadable
	s.Unscanned = append(s.Unscanned, o.Unscanned...)
}
