package syncd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/scan"
)

// indexDir holds the scan indexes of listed paths (see scan.Index), in the
// user's own state directory: a cache, which a restart may lose or keep.
const indexDir = core.StateDir + "/index"

// rootIndex is the scan.IndexStore of one listed path, in indexDir; new
// indexes are written in tmpDir, whose stale files are removed.
type rootIndex struct {
	s    *session
	name string
}

func (s *session) indexStore(p string) scan.IndexStore {
	h := sha256.Sum256([]byte(p))
	return rootIndex{s: s, name: path.Join(indexDir, hex.EncodeToString(h[:12]))}
}

func (x rootIndex) Open() (*os.File, error) {
	f, err := x.s.root.OpenFile(x.name, unix.O_RDWR|unix.O_NONBLOCK, 0, false)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS) {
		return x.s.root.OpenFile(x.name, unix.O_RDONLY|unix.O_NONBLOCK, 0, false)
	}
	return f, err
}

func (x rootIndex) Create() (*os.File, error) {
	tmp, err := x.s.tmpName("index")
	if err != nil {
		return nil, err
	}
	if err := x.s.root.Mkdir(indexDir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	return x.s.root.OpenFile(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600, false)
}

func (x rootIndex) Commit(tmp string) error { return x.s.root.Rename(tmp, x.name, 0) }

func (x rootIndex) Discard(tmp string) { x.s.root.Remove(tmp, 0) }

var _ scan.IndexStore = rootIndex{}
