package versions

import (
	"errors"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// walk calls fn for every version that may belong to p: those in the store
// directory of p when p was a directory, else those in the directory of p's
// parent, and below. Names that do not parse are skipped. A missing store
// is no error.
func (s *Store) walk(p string, fn func(id, orig string, kept time.Time) error) error {
	start := p
	if st, err := s.root.Lstat(path.Join(Dir, p)); p != "" && (err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR) {
		start = path.Dir(p)
		if start == "." {
			start = ""
		}
	}
	err := s.walkDir(start, make([]byte, 16<<10), fn)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// walkDir walks the store directory dir (relative to Dir).
func (s *Store) walkDir(dir string, buf []byte, fn func(id, orig string, kept time.Time) error) error {
	d, err := s.root.OpenDir(path.Join(Dir, dir))
	if err != nil {
		return err
	}
	type ent struct {
		name string
		typ  rootfs.DirentType
	}
	var ents []ent
	err = d.ReadNames(buf, func(name []byte, typ rootfs.DirentType) {
		ents = append(ents, ent{string(name), typ})
	})
	if err == nil && len(ents) > 0 {
		for i := range ents {
			if ents[i].typ != unix.DT_UNKNOWN {
				continue
			}
			var st unix.Stat_t
			if d.Lstat(ents[i].name, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				ents[i].typ = unix.DT_DIR
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	for _, e := range ents {
		id := path.Join(dir, e.name)
		if e.typ == unix.DT_DIR {
			if err := s.walkDir(id, buf, fn); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
			continue
		}
		orig, kept, ok := parseName(id)
		if !ok {
			continue
		}
		if err := fn(id, orig, kept); err != nil {
			return err
		}
	}
	return nil
}
