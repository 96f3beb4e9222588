package client

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"simplecloud/internal/xdg"
	"simplecloud/sync/core"
)

// stateVersion is the ancestor file's format. Version 1 was CBOR without
// a checksum; a file of it is reported as unusable and the run merges
// without deleting anything, as with no state.
const stateVersion = 2

// stateMagic opens every ancestor file.
const stateMagic = "SCSTATE\x00"

// FSID identifies the file system a local folder is on, so that a folder
// whose disk is not mounted (an empty mount point on the root file system)
// is not taken for a folder whose files were all deleted.
type FSID struct {
	Dev  uint64 // st_dev of the folder
	FSID uint64 // statfs f_fsid
}

// Same reports whether a and b are the same file system. f_fsid decides
// where either has one: ext4, XFS and btrfs derive it from the file
// system's UUID, so it survives a reboot, while st_dev of a
// device-mapper (LUKS, LVM) or NVMe device is a number given out at boot
// and may differ next time for the same disk. Where f_fsid is zero
// (tmpfs, some FUSE file systems) st_dev is all there is.
func (a FSID) Same(b FSID) bool {
	if a.FSID != 0 || b.FSID != 0 {
		return a.FSID == b.FSID
	}
	return a.Dev == b.Dev
}

// state is the ancestor file's header: which sync it is for and the local
// folder's file system; the ancestor tree travels beside it.
//
// The file is a binary format of its own rather than CBOR: the magic and
// a version byte; the local folder, the remote name and the FSID; the
// entries in path order, each path stored as the length it shares with
// the path before and the rest (a sorted tree shares most of every path),
// kind, mode, mtime as the difference from the entry before (varints),
// size and the 32-byte hash of a file or a link's target; last a SHA-256
// of everything before it. It is 47 bytes an entry at 200,000 entries
// (32 of them the hash; the protocol's CBOR entries took 60), and no
// damaged byte goes unnoticed: CBOR decodes most flipped bytes of a hash,
// size or mtime into a valid but wrong ancestor.
type state struct {
	Local  string
	Remote string
	FS     FSID
}

// StatePath returns the ancestor file of the pair (local, remote) in dir
// ($XDG_STATE_HOME/simplecloud/sync): a name from a hash of both, so that
// the same folder synced with two servers keeps two ancestors.
func StatePath(dir, local, remote string) string {
	h := sha256.Sum256([]byte(local + "\x00" + remote))
	return filepath.Join(dir, hex.EncodeToString(h[:12])+".state")
}

// StateDir returns $XDG_STATE_HOME/simplecloud/sync, with XDG's default
// ~/.local/state.
func StateDir() (string, error) {
	dir, err := xdg.StateHome.Path(os.Getenv, "simplecloud", "sync")
	if err != nil {
		return "", fmt.Errorf("find the state directory: %w", err)
	}
	return dir, nil
}

// loadState reads an ancestor file. A missing file is no ancestor (nil,
// nil); a damaged or foreign one is an error the caller reports before
// going on without (which is safe: nothing is deleted without an ancestor).
func loadState(path, local, remote string) (*state, core.Tree, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, core.Tree{}, nil
	}
	if err != nil {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state: %w", err)
	}
	s, t, err := decodeState(f, fi.Size())
	if err != nil {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state %s: %w", path, err)
	}
	if s.Local != local || s.Remote != remote {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state %s: it is for %s and %s", path, s.Local, s.Remote)
	}
	return s, t, nil
}

// saveState writes the ancestor atomically: a temporary file, fsync,
// rename, fsync of the directory.
func saveState(path string, s *state, t core.Tree) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save the sync state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("save the sync state: %w", err)
	}
	defer os.Remove(f.Name())
	err = writeState(f, s, t)
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
		return fmt.Errorf("save the sync state: %w", err)
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

// writeState writes the state file's content to w, 64 KiB at a time, so
// that saving the state of 200,000 files does not hold a 10 MB copy of it
// (and its growth) on top of the trees.
func writeState(w io.Writer, s *state, t core.Tree) error {
	const chunk = 64 << 10
	h := sha256.New()
	b := make([]byte, 0, chunk+4096)
	var err error
	flush := func() {
		h.Write(b)
		if err == nil {
			_, err = w.Write(b)
		}
		b = b[:0]
	}
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	b = appendString(b, s.Local)
	b = appendString(b, s.Remote)
	b = binary.BigEndian.AppendUint64(b, s.FS.Dev)
	b = binary.BigEndian.AppendUint64(b, s.FS.FSID)
	b = binary.AppendUvarint(b, uint64(t.Len()))
	prev, mtime := "", int64(0)
	for p, e := range t.All() {
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
		if len(b) >= chunk {
			flush()
		}
	}
	flush()
	if err == nil {
		_, err = w.Write(h.Sum(nil))
	}
	return err
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
