package scan

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// IndexStore keeps the index of one tree and path between walks: the
// client in its state directory, the server in the user's .simplecloud.
type IndexStore interface {
	// Open returns the last index; an error (fs.ErrNotExist: none yet)
	// means a walk without one. With an oracle, the walk writes a new
	// stamp into it in place when its records stay the same: open it
	// for writing too.
	Open() (*os.File, error)
	// Create returns a new, empty temporary file for the next index.
	Create() (*os.File, error)
	// Commit puts the temporary file named tmp in the last index's place;
	// Discard removes it.
	Commit(tmp string) error
	Discard(tmp string)
}

// WalkStored is WalkIndexed with the index kept in st: the last one is
// read from it, and the new one replaces it when the walk succeeded and
// found anything different (an unchanged tree writes no file). A store that cannot be read or written costs
// only speed (the error goes to the log); the walk is the same.
func (s *Scanner) WalkStored(p string, st IndexStore, fn func(*Entry) error) (Summary, error) {
	if s.opt.Hasher == nil || st == nil {
		return s.Walk(p, fn)
	}
	var last io.ReaderAt
	var size int64
	if old, err := st.Open(); err == nil {
		defer old.Close()
		if fi, err := old.Stat(); err == nil {
			last, size = old, fi.Size()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.log.Debug("last index not read", "err", err)
	}
	// The new index's file is made only once it differs from the last.
	var out *os.File
	ix := NewIndex(s.opt.Hasher.Name(), last, size, func() (io.Writer, error) {
		f, err := st.Create()
		out = f
		return f, err
	})
	start := time.Now()
	s.askOracle(ix, start)
	sum, err := s.WalkIndexed(p, ix, fn)
	if ix.oracle && sum.Reused == 0 {
		ix.next.full = start.UnixNano() // every file stat'ed
	}
	changed, ferr := ix.Finish()
	if out == nil {
		if ferr != nil {
			s.log.Debug("index not kept", "err", ferr)
		}
		if err == nil && ferr == nil && !changed && ix.oracle {
			// The same records, now valid since the new stamp: in
			// place, where a torn write fails the stamp's CRC (a
			// full walk) and a failed one leaves the old stamp,
			// which is older, so trusts less.
			if f, ok := last.(*os.File); ok {
				if _, werr := f.WriteAt(ix.next.encode(), size-int64(stampLen+trailerLen)); werr != nil {
					s.log.Debug("index stamp not kept", "err", werr)
				}
			}
		}
		return sum, err
	}
	if cerr := out.Close(); ferr == nil {
		ferr = cerr
	}
	if err != nil || ferr != nil || !changed {
		if ferr != nil {
			s.log.Debug("index not kept", "err", ferr)
		}
		st.Discard(out.Name())
		return sum, err
	}
	if err := st.Commit(out.Name()); err != nil {
		s.log.Debug("index not kept", "err", err)
		st.Discard(out.Name())
	}
	return sum, nil
}

// DirIndex is an IndexStore in a directory of the local file system, for
// a client: the index is the file Path, written through temporary files
// beside it.
type DirIndex struct{ Path string }

// Open opens the last index, for writing too when it may (see IndexStore).
func (d DirIndex) Open() (*os.File, error) {
	f, err := os.OpenFile(d.Path, os.O_RDWR, 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return os.Open(d.Path) // not ours to write, a read-only file system
	}
	return f, err
}

// Create makes a temporary file beside Path.
func (d DirIndex) Create() (*os.File, error) {
	dir, base := filepath.Split(d.Path)
	if dir == "" {
		dir = "."
	}
	return os.CreateTemp(dir, "."+base+".tmp-*")
}

// Commit renames tmp to Path.
func (d DirIndex) Commit(tmp string) error { return os.Rename(tmp, d.Path) }

// Discard removes tmp.
func (d DirIndex) Discard(tmp string) { os.Remove(tmp) }
