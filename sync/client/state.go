package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fxamacker/cbor/v2"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// stateVersion is the ancestor file's format.
const stateVersion = 1

// FSID identifies the file system a local folder is on, so that a folder
// whose disk is not mounted (an empty mount point on the root file system)
// is not taken for a folder whose files were all deleted.
type FSID struct {
	Dev  uint64 `cbor:"1,keyasint"` // st_dev of the folder
	FSID uint64 `cbor:"2,keyasint"` // statfs f_fsid
}

// state is the ancestor file: the last state both sides agreed on, for one
// local folder and one server folder. Paths are prefix-compressed (the
// protocol's Entries encoding), about 60 bytes an entry.
type state struct {
	Version int             `cbor:"1,keyasint"`
	Local   string          `cbor:"2,keyasint"`
	Remote  string          `cbor:"3,keyasint"`
	FS      FSID            `cbor:"4,keyasint"`
	Batches []proto.Entries `cbor:"5,keyasint"` // in runs the protocol's decoder takes
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
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the state directory: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "simplecloud", "sync"), nil
}

// loadState reads an ancestor file. A missing file is no ancestor (nil,
// nil); a damaged or foreign one is an error the caller reports before
// going on without (which is safe: nothing is deleted without an ancestor).
func loadState(path, local, remote string) (*state, core.Tree, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, core.Tree{}, nil
	}
	if err != nil {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state: %w", err)
	}
	var s state
	if err := cbor.Unmarshal(b, &s); err != nil {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state %s: %w", path, err)
	}
	if s.Version != stateVersion || s.Local != local || s.Remote != remote {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state %s: it is of version %d for %s and %s", path, s.Version, s.Local, s.Remote)
	}
	var bld core.Builder
	for _, b := range s.Batches {
		for _, e := range b {
			if err := bld.Add(e.Path, fromProto(e)); err != nil {
				return nil, core.Tree{}, fmt.Errorf("read the last sync state %s: %w", path, err)
			}
		}
	}
	s.Batches = nil
	t, err := bld.Build()
	if err != nil {
		return nil, core.Tree{}, fmt.Errorf("read the last sync state %s: %w", path, err)
	}
	return &s, t, nil
}

// saveState writes the ancestor atomically: a temporary file, fsync,
// rename, fsync of the directory.
func saveState(path string, s *state, t core.Tree) error {
	s.Version = stateVersion
	all := make([]proto.Entry, 0, t.Len())
	for p, e := range t.All() {
		all = append(all, toProto(p, e))
	}
	s.Batches = nil
	for _, b := range proto.Batches(all) {
		s.Batches = append(s.Batches, proto.Entries(b))
	}
	b, err := cbor.Marshal(s)
	s.Batches = nil
	if err != nil {
		return fmt.Errorf("encode the sync state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save the sync state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("save the sync state: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("save the sync state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
