package client

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
)

// State is what a client keeps between runs for one (local folder,
// server, remote path): the ancestor (the last state both sides agreed
// on) and the identity of the file system the local folder was on.
//
// It is stored in one file under the state directory
// ($XDG_STATE_HOME/simplecloud/sync), named by a hash of the triple,
// in a versioned binary format: a header naming the triple (so a file
// for another folder is never taken for this one), the file system
// identity, the entries in path order with each path stored as the
// length it shares with the one before and the rest (a sorted tree
// shares most of every path), varints for sizes, modes and mtime deltas,
// and a SHA-256 of everything before it at the end. About 45 bytes per
// entry, 32 of them the content hash. A CBOR library would add a field
// tag per value and no prefix compression; the format is this file's
// business alone, and a file that does not check out is simply not used
// (the run then merges without deleting anything: see core.Reconcile).
type State struct {
	Key      StateKey
	FS       FSID
	Ancestor core.Tree
}

// StateKey names a sync: the local folder (absolute), the server (as the
// user named it, with user and port) and the remote path.
type StateKey struct{ Local, Server, Remote string }

// FSID identifies a file system: statfs's f_fsid and stat's st_dev of the
// folder.
type FSID struct {
	Fsid uint64
	Dev  uint64
}

// Same reports whether a and b are the same file system. f_fsid is
// compared where both have one, since it is stable across reboots on
// ext4, XFS and btrfs (derived from the UUID) while st_dev of a
// device-mapper or NVMe device may be numbered differently at each boot;
// st_dev is compared only where f_fsid is zero (tmpfs, some FUSE).
func (a FSID) Same(b FSID) bool {
	if a.Fsid != 0 || b.Fsid != 0 {
		return a.Fsid == b.Fsid
	}
	return a.Dev == b.Dev
}

// fsidOf returns the identity of the file system holding the open
// directory fd.
func fsidOf(fd int) (FSID, error) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return FSID{}, fmt.Errorf("statfs: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return FSID{}, fmt.Errorf("stat: %w", err)
	}
	id := uint64(uint32(sfs.Fsid.Val[0]))<<32 | uint64(uint32(sfs.Fsid.Val[1]))
	return FSID{Fsid: id, Dev: st.Dev}, nil
}

// StatePath returns the file that holds the state of k under dir.
func StatePath(dir string, k StateKey) string {
	h := sha256.Sum256([]byte(k.Local + "\x00" + k.Server + "\x00" + k.Remote))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".state")
}

// DefaultStateDir returns $XDG_STATE_HOME/simplecloud/sync, or
// ~/.local/state/simplecloud/sync.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "simplecloud", "sync"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "simplecloud", "sync"), nil
}

const (
	stateMagic   = "SCSTATE\x00"
	stateVersion = 1
)

// ErrBadState is wrapped by LoadState's error for a file that is
// corrupt, of another version or for another sync.
var ErrBadState = errors.New("unusable sync state")

// LoadState reads the state of k from path. A missing file is no error:
// ok is false. A file that does not check out is an error wrapping
// ErrBadState; the caller warns and runs as with no ancestor.
func LoadState(path string, k StateKey) (st State, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Key: k}, false, nil
	}
	if err != nil {
		return State{Key: k}, false, fmt.Errorf("read sync state: %w", err)
	}
	st, err = decodeState(data)
	if err != nil {
		return State{Key: k}, false, fmt.Errorf("read sync state %s: %w: %w", path, ErrBadState, err)
	}
	if st.Key != k {
		return State{Key: k}, false, fmt.Errorf("read sync state %s: %w: it is for %s and %s:%s", path, ErrBadState, st.Key.Local, st.Key.Server, st.Key.Remote)
	}
	return st, true, nil
}

// SaveState writes st to path atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory.
func SaveState(path string, st State) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(encodeState(st))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func encodeState(st State) []byte {
	b := make([]byte, 0, 64+st.Ancestor.Len()*48)
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	for _, s := range []string{st.Key.Local, st.Key.Server, st.Key.Remote} {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint64(b, st.FS.Fsid)
	b = binary.BigEndian.AppendUint64(b, st.FS.Dev)
	b = binary.AppendUvarint(b, uint64(st.Ancestor.Len()))
	prev, mtime := "", int64(0)
	for p, e := range st.Ancestor.All() {
		n := sharedPrefix(prev, p)
		b = binary.AppendUvarint(b, uint64(n))
		b = appendString(b, p[n:])
		b = append(b, byte(e.Kind))
		b = binary.AppendUvarint(b, uint64(e.Mode&core.PermMask))
		b = binary.AppendVarint(b, e.MTime-mtime)
		switch e.Kind {
		case core.File:
			b = binary.AppendUvarint(b, uint64(e.Size))
			b = append(b, e.Hash[:]...)
		case core.Symlink:
			b = appendString(b, e.Target)
		}
		prev, mtime = p, e.MTime
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func sharedPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
