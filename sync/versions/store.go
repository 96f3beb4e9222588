package versions

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// ErrBadID is wrapped by the errors for a malformed version id.
var ErrBadID = errors.New("not a version id")

// Policy says how long versions are kept.
type Policy struct {
	// Staggered thins versions out with age (see Prune); false keeps all.
	Staggered bool
	// CapBytes bounds the store's total size; 0 means no cap.
	CapBytes int64
}

// DefaultPolicy is the staggered schedule with no cap (the server sets the
// cap from the volume's size).
func DefaultPolicy() Policy { return Policy{Staggered: true} }

// Version is one kept file or symbolic link.
type Version struct {
	ID     string    // the version's path below Dir: opaque to clients
	Path   string    // the path it was kept from
	Kept   time.Time // when it was kept (to the second)
	Kind   uint8     // 1 file, 3 symbolic link (sync/proto's kinds)
	Size   int64
	Mtime  int64 // ns since the epoch
	Mode   uint32
	Target string // a link's target
}

// Kinds of versions, with sync/proto's numbers.
const (
	KindFile    uint8 = 1
	KindSymlink uint8 = 3
)

// Store is the version store of one user's root. It is safe for
// concurrent use.
type Store struct {
	root *rootfs.Root
	pol  Policy
	log  *slog.Logger
	mu   sync.Mutex // serializes the choice of names
}

// Open returns the store below root (which should be strict: see
// rootfs.Root.Strict). Nothing is created until a version is kept.
func Open(root *rootfs.Root, p Policy, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{root: root, pol: p, log: log}
}

// Keep moves the file or symbolic link at p into the store and returns its
// version. A directory is refused (sync removes only empty ones).
func (s *Store) Keep(p string, now time.Time) (Version, error) {
	return s.keep(p, now, func(id string) error {
		return s.root.Rename(p, path.Join(Dir, id), unix.RENAME_NOREPLACE)
	})
}

// KeepCopy keeps what p holds while p stays: a hard link, so that a new
// file renamed over p afterwards leaves the old inode as the version.
// Where links are refused (EPERM: protected_hardlinks, a file the user
// does not own) a regular file is copied.
func (s *Store) KeepCopy(p string, now time.Time) (Version, error) {
	return s.keep(p, now, func(id string) error {
		err := s.root.Link(p, path.Join(Dir, id))
		if errors.Is(err, unix.EPERM) {
			return s.copyFile(p, path.Join(Dir, id))
		}
		return err
	})
}

// keep names the version and puts it in place with put, trying the next
// name while one is taken.
func (s *Store) keep(p string, now time.Time, put func(id string) error) (Version, error) {
	st, err := s.root.Lstat(p)
	if err != nil {
		return Version{}, fmt.Errorf("keep version of %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return Version{}, fmt.Errorf("keep version of %s: %w", p, unix.EISDIR)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mkdirs(path.Dir(path.Join(Dir, p))); err != nil {
		return Version{}, fmt.Errorf("keep version of %s: %w", p, err)
	}
	for n := 0; n < 1000; n++ {
		id := versionName(p, now, n)
		err := put(id)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return Version{}, fmt.Errorf("keep version of %s: %w", p, err)
		}
		return s.describe(id, p, now.Truncate(time.Second))
	}
	return Version{}, fmt.Errorf("keep version of %s: 1000 versions in one second", p)
}

// Return moves a version that Keep made back to its path, which must be
// free: how a compare-and-swap that found the wrong file undoes Keep.
func (s *Store) Return(v Version) error {
	if err := s.root.Rename(path.Join(Dir, v.ID), v.Path, unix.RENAME_NOREPLACE); err != nil {
		return fmt.Errorf("put back %s: %w", v.Path, err)
	}
	return nil
}

// describe fills in a version from its stored file.
func (s *Store) describe(id, p string, kept time.Time) (Version, error) {
	st, err := s.root.Lstat(path.Join(Dir, id))
	if err != nil {
		return Version{}, fmt.Errorf("read version %s: %w", id, err)
	}
	v := Version{ID: id, Path: p, Kept: kept, Kind: KindFile, Size: st.Size,
		Mtime: st.Mtim.Nano(), Mode: st.Mode & 0o777}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		v.Kind = KindSymlink
		if v.Target, err = s.root.Readlink(path.Join(Dir, id)); err != nil {
			return Version{}, fmt.Errorf("read version %s: %w", id, err)
		}
	}
	return v, nil
}

// mkdirs makes dir and its parents below the root; .simplecloud and the
// store are private to the user (0700).
func (s *Store) mkdirs(dir string) error {
	cur := ""
	for _, el := range strings.Split(dir, "/") {
		cur = path.Join(cur, el)
		err := s.root.Mkdir(cur, 0o700)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		st, err := s.root.Lstat(cur)
		if err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("%s: %w", cur, unix.ENOTDIR)
		}
	}
	return nil
}

// copyFile copies the regular file from to the new file to, keeping its
// mode and mtime.
func (s *Store) copyFile(from, to string) error {
	src, err := s.root.OpenFile(from, unix.O_RDONLY|unix.O_NONBLOCK, 0, false)
	if err != nil {
		return err
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return unix.EPERM
	}
	dst, err := s.root.OpenFile(to, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600, false)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Chmod(os.FileMode(st.Mode & 0o777))
	}
	if err == nil {
		mt := time.Unix(0, st.Mtim.Nano())
		err = os.Chtimes(fmt.Sprintf("/proc/self/fd/%d", dst.Fd()), mt, mt)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(to, 0)
	}
	return err
}

// List returns the versions of path p, oldest first, and with a directory p
// ("" for the whole tree), the versions of every path below it.
func (s *Store) List(p string) ([]Version, error) {
	var out []Version
	err := s.walk(p, func(id, orig string, kept time.Time) error {
		if orig != p && !strings.HasPrefix(orig, p+"/") && p != "" {
			return nil
		}
		v, err := s.describe(id, orig, kept)
		if err == nil {
			out = append(out, v)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Kept.Equal(out[j].Kept) {
			return out[i].Kept.Before(out[j].Kept)
		}
		_, _, ni, _ := parseSeq(out[i].ID)
		_, _, nj, _ := parseSeq(out[j].ID)
		return ni < nj
	})
	return out, err
}

// Get returns the version with the given id.
func (s *Store) Get(id string) (Version, error) {
	if err := validID(id); err != nil {
		return Version{}, err
	}
	orig, kept, ok := parseName(id)
	if !ok {
		return Version{}, fmt.Errorf("version id %q: %w", id, ErrBadID)
	}
	return s.describe(id, orig, kept)
}
