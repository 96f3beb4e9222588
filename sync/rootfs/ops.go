package rootfs

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// atParent runs fn on the handle of p's parent directory and p's final name.
func (r *Root) atParent(p, op string, fn func(dir int, base string) error) error {
	d, base, err := r.parent(p)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fn(int(d.Fd()), base); err != nil {
		return &os.PathError{Op: op, Path: p, Err: err}
	}
	return nil
}

// Mkdir makes the directory p with mode (before the umask).
func (r *Root) Mkdir(p string, mode uint32) error {
	return r.atParent(p, "mkdir", func(dir int, base string) error {
		return unix.Mkdirat(dir, base, mode)
	})
}

// Remove removes the file p; flags is 0 or unix.AT_REMOVEDIR for an empty
// directory.
func (r *Root) Remove(p string, flags int) error {
	return r.atParent(p, "remove", func(dir int, base string) error {
		return unix.Unlinkat(dir, base, flags)
	})
}

// Rename renames from to to with renameat2's flags (unix.RENAME_NOREPLACE
// refuses an existing target, 0 replaces it).
func (r *Root) Rename(from, to string, flags uint) error {
	return r.atParent(from, "rename", func(odir int, obase string) error {
		return r.atParent(to, "rename", func(ndir int, nbase string) error {
			return unix.Renameat2(odir, obase, ndir, nbase, flags)
		})
	})
}

// Link makes to a hard link of from.
func (r *Root) Link(from, to string) error {
	return r.atParent(from, "link", func(odir int, obase string) error {
		return r.atParent(to, "link", func(ndir int, nbase string) error {
			return unix.Linkat(odir, obase, ndir, nbase, 0)
		})
	})
}

// Symlink makes link point at target, stored exactly as given. An
// absolute target is never followed by a lookup through the root
// (RESOLVE_BENEATH refuses it), so it cannot lead out; clients (sshfs,
// sftp) read it back with Readlink and resolve it themselves.
func (r *Root) Symlink(target, link string) error {
	if strings.IndexByte(target, 0) >= 0 {
		return &os.PathError{Op: "symlink", Path: link, Err: unix.EINVAL}
	}
	return r.atParent(link, "symlink", func(dir int, base string) error {
		return unix.Symlinkat(target, dir, base)
	})
}

// Attrs says which attributes SetAttrs changes (the Set fields) and to what.
type Attrs struct {
	SetSize      bool
	Size         int64
	SetOwner     bool
	UID, GID     int
	SetMode      bool
	Mode         uint32 // permission bits; bits above 0o7777 are ignored
	SetTimes     bool
	Atime, Mtime time.Time
}

// SetAttrs changes p's attributes (following a final symbolic link) in the
// order size, owner, mode, times, and stops at the first failure.
func (r *Root) SetAttrs(p string, a Attrs) error {
	h, err := r.OpenFile(p, unix.O_PATH, 0, true)
	if err != nil {
		return err
	}
	defer h.Close()
	pp := procPath(h)
	wrap := func(op string, err error) error {
		if err != nil {
			return &os.PathError{Op: op, Path: p, Err: err}
		}
		return nil
	}
	if a.SetSize {
		if err := wrap("truncate", unix.Truncate(pp, a.Size)); err != nil {
			return err
		}
	}
	if a.SetOwner {
		if err := wrap("chown", unix.Chown(pp, a.UID, a.GID)); err != nil {
			return err
		}
	}
	if a.SetMode {
		if err := wrap("chmod", unix.Chmod(pp, a.Mode&0o7777)); err != nil {
			return err
		}
	}
	if a.SetTimes {
		ts := []unix.Timespec{unix.NsecToTimespec(a.Atime.UnixNano()), unix.NsecToTimespec(a.Mtime.UnixNano())}
		if err := wrap("utimes", unix.UtimesNanoAt(unix.AT_FDCWD, pp, ts, 0)); err != nil {
			return err
		}
	}
	return nil
}

// StatFS returns the statistics of the file system that holds p.
func (r *Root) StatFS(p string) (*unix.Statfs_t, error) {
	h, err := r.OpenFile(p, unix.O_PATH, 0, true)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var s unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &s); err != nil {
		return nil, &os.PathError{Op: "statvfs", Path: p, Err: err}
	}
	return &s, nil
}

// Readlink returns the target of the symbolic link p as stored.
func (r *Root) Readlink(p string) (string, error) {
	h, err := r.OpenFile(p, unix.O_PATH, 0, false)
	if err != nil {
		return "", err
	}
	defer h.Close()
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(h.Fd()), "", buf)
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: p, Err: err}
	}
	return string(buf[:n]), nil
}

// Stat returns p's stat buffer; follow=false describes a final symbolic
// link itself.
func (r *Root) Stat(p string, follow bool) (unix.Stat_t, error) {
	var st unix.Stat_t
	h, err := r.OpenFile(p, unix.O_PATH, 0, follow)
	if err != nil {
		return st, err
	}
	defer h.Close()
	for {
		err = unix.Fstatat(int(h.Fd()), "", &st, unix.AT_EMPTY_PATH)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return st, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return st, nil
}
