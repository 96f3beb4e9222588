package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"simplecloud/sync/seal"
)

// ErrNotEmpty is returned by Restore for a target that holds something.
var ErrNotEmpty = errors.New("target is not empty")

// Restorer rebuilds trees of a snapshot from the bucket.
type Restorer struct {
	Bucket Bucket
	Key    *seal.Key
	// Force restores into a target that is not empty (entries of the
	// snapshot replace what is there).
	Force bool
	// Owner, when set, gives the uid and gid that own a tree's restored
	// entries (the user's, looked up by name on this server); ok false
	// leaves them to the restoring process.
	Owner func(tree string) (uid, gid int, ok bool)
}

// Selected reports whether tree name is chosen by sel: "" chooses all,
// "USER" a user's trees (the whole tree and its folders), "USER:FOLDER"
// that one.
func Selected(name, sel string) bool {
	if sel == "" || name == sel {
		return true
	}
	return !strings.Contains(sel, ":") && strings.HasPrefix(name, sel+":")
}

// TreeDir is where tree name is restored below to: to/USER or
// to/USER/FOLDER.
func TreeDir(to, name string) string {
	user, folder, _ := strings.Cut(name, ":")
	return filepath.Join(to, user, filepath.FromSlash(folder))
}

// Restore writes the trees of snap chosen by sel into to (see TreeDir).
// Each file is written to a temporary name and renamed into place only
// once all its chunks authenticated and its record list checked, so a
// tampered object stops the restore with no half-written file.
func (r *Restorer) Restore(ctx context.Context, snap *Snapshot, sel, to string) error {
	var trees []*Tree
	for i := range snap.Trees {
		if Selected(snap.Trees[i].Name, sel) {
			trees = append(trees, &snap.Trees[i])
		}
	}
	if len(trees) == 0 {
		return fmt.Errorf("restore: the snapshot has no tree %q", sel)
	}
	for _, t := range trees {
		dir := TreeDir(to, t.Name)
		if err := r.checkEmpty(dir); err != nil {
			return err
		}
	}
	for _, t := range trees {
		if err := r.tree(ctx, t, TreeDir(to, t.Name)); err != nil {
			return fmt.Errorf("restore %s: %w", t.Name, err)
		}
	}
	return nil
}

func (r *Restorer) checkEmpty(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(ents) > 0 && !r.Force {
		return fmt.Errorf("restore into %s: %w (use --force to restore over it)", dir, ErrNotEmpty)
	}
	return nil
}

// tree restores one tree into dir: directories first (in path order, so a
// parent comes before its children), files and links, then the
// directories' modes and mtimes, deepest first.
func (r *Restorer) tree(ctx context.Context, t *Tree, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	chown := func(string) error { return nil }
	if r.Owner != nil {
		if uid, gid, ok := r.Owner(t.Name); ok {
			chown = func(p string) error { return os.Lchown(p, uid, gid) }
		}
	}
	if err := chown(dir); err != nil {
		return err
	}
	var dirs []*Entry
	for i := range t.Entries {
		e := &t.Entries[i]
		if !filepath.IsLocal(e.Path) {
			return fmt.Errorf("entry %q: not a relative path inside the tree", e.Path)
		}
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		switch e.Kind {
		case KindDir:
			if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			if err := chown(p); err != nil {
				return err
			}
			dirs = append(dirs, e)
		case KindSymlink:
			if r.Force {
				_ = os.Remove(p)
			}
			if err := os.Symlink(e.Target, p); err != nil {
				return err
			}
			if err := chown(p); err != nil {
				return err
			}
			if err := setTimes(p, e.Mtime, true); err != nil {
				return err
			}
		case KindFile:
			if err := r.file(ctx, e, p, chown); err != nil {
				return fmt.Errorf("%s: %w", e.Path, err)
			}
		default:
			return fmt.Errorf("entry %q: unknown kind %q", e.Path, e.Kind)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		p := filepath.Join(dir, filepath.FromSlash(dirs[i].Path))
		if err := os.Chmod(p, os.FileMode(dirs[i].Mode&0o777)|modeBits(dirs[i].Mode)); err != nil {
			return err
		}
		if err := setTimes(p, dirs[i].Mtime, false); err != nil {
			return err
		}
	}
	return nil
}

// file fetches and opens every chunk of e into a temporary file beside p,
// then sets mode and mtime and renames it to p.
func (r *Restorer) file(ctx context.Context, e *Entry, p string, chown func(string) error) (err error) {
	recs, err := e.Records()
	if err != nil {
		return err
	}
	if err := r.Key.CheckList(recs); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".restore-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	var pt []byte
	for _, rec := range recs[:len(recs)-1] {
		pt, err = fetchRecord(ctx, r.Bucket, r.Key, rec, pt[:0])
		if err != nil {
			return err
		}
		if _, err := f.Write(pt); err != nil {
			return err
		}
	}
	if n, err := f.Seek(0, io.SeekCurrent); err != nil || n != e.Size {
		return fmt.Errorf("restored %d bytes, the snapshot says %d (%v)", n, e.Size, err)
	}
	// Ownership before the mode: a chown without CAP_FSETID clears setuid
	// and setgid.
	if err := chown(f.Name()); err != nil {
		return err
	}
	if err := f.Chmod(os.FileMode(e.Mode&0o777) | modeBits(e.Mode)); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := setTimes(f.Name(), e.Mtime, false); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// fetchRecord gets a chunk object and opens it against its id.
func fetchRecord(ctx context.Context, b Bucket, k *seal.Key, rec seal.Record, dst []byte) ([]byte, error) {
	data, err := b.Get(ctx, chunkKey(rec.ID))
	if err != nil {
		return nil, err
	}
	if len(data) != int(rec.Size) {
		return nil, fmt.Errorf("object %s: %d bytes, the record list says %d: %w", chunkKey(rec.ID), len(data), rec.Size, seal.ErrAuth)
	}
	pt, err := k.OpenRecord(dst, rec.ID, data)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", chunkKey(rec.ID), err)
	}
	return pt, nil
}

// modeBits converts setuid, setgid and sticky to os.FileMode.
func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&unix.S_ISUID != 0 {
		fm |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		fm |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// setTimes sets p's atime and mtime to mtime (ns); link leaves a final
// symbolic link unfollowed.
func setTimes(p string, mtime int64, link bool) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mtime), unix.NsecToTimespec(mtime)}
	flags := 0
	if link {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, flags); err != nil {
		return fmt.Errorf("set times of %s: %w", p, err)
	}
	return nil
}
