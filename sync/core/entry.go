package core

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io/fs"
)

// Digest is a file's content hash. Which hash fills it is the protocol's
// choice; sync/core only compares digests, so it treats them as opaque.
type Digest [32]byte

// String returns the digest in hexadecimal.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Kind is what a path holds. The zero Kind, None, means the path is absent.
type Kind uint8

// The kinds of entry. Their order is the tie-break order of conflicts
// (see wins): a directory always keeps a contested name.
const (
	None Kind = iota
	Symlink
	File
	Dir
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case File:
		return "file"
	case Dir:
		return "dir"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// PermMask is the part of a mode that sync carries: the permission bits.
// Setuid, setgid and sticky bits are never carried.
const PermMask fs.FileMode = 0o777

// Entry is the state of one path on one side. Size, Hash and Mode are
// meaningful for files, Mode for directories, Target for symbolic links
// (whose Mode is ignored: Linux has none). MTime is in nanoseconds since
// the epoch; it is carried (a written file gets its source's mtime) but it
// is never part of what makes two entries the same (see Same).
//
// An Entry is 72 bytes on 64-bit platforms; a Tree stores each entry in a
// 72-byte record that also holds its path (see Tree).
type Entry struct {
	Kind   Kind
	Mode   fs.FileMode
	Size   int64
	MTime  int64
	Hash   Digest
	Target string
}

// Present reports whether the entry exists.
func (e Entry) Present() bool { return e.Kind != None }

// Same reports whether a and b hold the same data: the same kind and, for
// files, the same size, hash and permission bits; for directories the same
// permission bits; for symbolic links the same target. MTime does not
// count: an mtime-only difference is no change and no conflict.
func Same(a, b Entry) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case File:
		return a.Size == b.Size && a.Hash == b.Hash && a.Mode&PermMask == b.Mode&PermMask
	case Dir:
		return a.Mode&PermMask == b.Mode&PermMask
	case Symlink:
		return a.Target == b.Target
	}
	return true
}

// sameContent reports whether a and b hold the same content, ignoring
// permission bits: two files with one hash, two links with one target, or
// two directories.
func sameContent(a, b Entry) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case File:
		return a.Size == b.Size && a.Hash == b.Hash
	case Symlink:
		return a.Target == b.Target
	}
	return true
}

// Matches reports whether cur, a side's current state of a path, is still
// the state e that a plan expected there: the compare-and-swap check an
// executor makes before it overwrites, moves or removes anything. Files
// must match in size, mtime, permission bits and hash (an executor that
// has no fresh hash compares the rest and treats a changed size or mtime
// as a race); links in target; directories only in kind, since removing
// their children changes their mtime and a chmod races nothing. An absent
// e matches only an absent cur.
func (e Entry) Matches(cur Entry) bool {
	if e.Kind != cur.Kind {
		return false
	}
	switch e.Kind {
	case File:
		return e.Size == cur.Size && e.MTime == cur.MTime &&
			e.Mode&PermMask == cur.Mode&PermMask && e.Hash == cur.Hash
	case Symlink:
		return e.Target == cur.Target
	}
	return true
}

// wins reports whether a keeps a contested name against b in a conflict:
// a directory beats anything else (its children would otherwise need new
// names too); then the later mtime wins, as in Syncthing; then a fixed
// order of kind, hash, target and mode, so that the choice never depends
// on which side is local.
func wins(a, b Entry) bool {
	if (a.Kind == Dir) != (b.Kind == Dir) {
		return a.Kind == Dir
	}
	if a.MTime != b.MTime {
		return a.MTime > b.MTime
	}
	if a.Kind != b.Kind {
		return a.Kind > b.Kind
	}
	if c := bytes.Compare(a.Hash[:], b.Hash[:]); c != 0 {
		return c > 0
	}
	if a.Target != b.Target {
		return a.Target > b.Target
	}
	return a.Mode > b.Mode
}

// String formats the entry for test failures and logs.
func (e Entry) String() string {
	switch e.Kind {
	case None:
		return "none"
	case File:
		return fmt.Sprintf("file(%d bytes, %04o, %s, mtime %d)", e.Size, e.Mode&PermMask, e.Hash.String()[:8], e.MTime)
	case Dir:
		return fmt.Sprintf("dir(%04o)", e.Mode&PermMask)
	case Symlink:
		return fmt.Sprintf("symlink(%q)", e.Target)
	}
	return e.Kind.String()
}
