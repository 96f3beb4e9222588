package versions

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"time"
)

// tmpDir holds restores in progress, beside the store.
const tmpDir = ".simplecloud/tmp"

// Restore copies version id to the path to (the version stays in the
// store), keeping what to held first (KeepCopy) and returning that version
// (zero when to was free). The copy is made in a temporary file and renamed
// over to, so to is never seen half-written.
func (s *Store) Restore(id, to string, now time.Time) (prev Version, err error) {
	v, err := s.Get(id)
	if err != nil {
		return Version{}, fmt.Errorf("restore %s: %w", id, err)
	}
	if err := s.mkdirs(tmpDir); err != nil {
		return Version{}, fmt.Errorf("restore %s: %w", id, err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(tmpDir, "restore-"+hex.EncodeToString(rnd[:]))
	if v.Kind == KindSymlink {
		err = s.root.Symlink(v.Target, tmp)
	} else {
		err = s.copyFile(path.Join(Dir, id), tmp)
	}
	if err != nil {
		return Version{}, fmt.Errorf("restore %s: %w", id, err)
	}
	if _, err := s.root.Lstat(to); err == nil {
		if prev, err = s.KeepCopy(to, now); err != nil {
			s.root.Remove(tmp, 0)
			return Version{}, fmt.Errorf("restore %s: %w", id, err)
		}
	}
	if err := s.root.Rename(tmp, to, 0); err != nil {
		s.root.Remove(tmp, 0)
		return prev, fmt.Errorf("restore %s to %s: %w", id, to, err)
	}
	return prev, nil
}
