package rootfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// LSetAttrs changes p's attributes like SetAttrs but on a final symbolic
// link itself (lsetstat): owner and times through the parent directory
// with AT_SYMLINK_NOFOLLOW, the mode on the file's own handle (a link has
// no mode of its own on Linux: EOPNOTSUPP). A size makes no sense for a
// link and is refused (EINVAL) before anything changes.
func (r *Root) LSetAttrs(p string, a Attrs) error {
	if a.SetSize {
		return &os.PathError{Op: "lsetstat", Path: p, Err: unix.EINVAL}
	}
	if a.SetOwner {
		err := r.atParent(p, "lchown", func(dir int, base string) error {
			return unix.Fchownat(dir, base, a.UID, a.GID, unix.AT_SYMLINK_NOFOLLOW)
		})
		if err != nil {
			return err
		}
	}
	if a.SetMode {
		if err := r.lchmod(p, a.Mode); err != nil {
			return err
		}
	}
	if a.SetTimes {
		ts := []unix.Timespec{unix.NsecToTimespec(a.Atime.UnixNano()), unix.NsecToTimespec(a.Mtime.UnixNano())}
		return r.atParent(p, "lutimes", func(dir int, base string) error {
			return unix.UtimesNanoAt(dir, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		})
	}
	return nil
}

// lchmod changes the mode of p, refusing a symbolic link. It works on an
// O_PATH handle of p not following a final link, so that the file whose
// type was checked is the one changed.
func (r *Root) lchmod(p string, mode uint32) error {
	h, err := r.OpenFile(p, unix.O_PATH, 0, false)
	if err != nil {
		return err
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return &os.PathError{Op: "lchmod", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return &os.PathError{Op: "lchmod", Path: p, Err: unix.EOPNOTSUPP}
	}
	if err := unix.Chmod(procPath(h), mode&0o7777); err != nil {
		return &os.PathError{Op: "lchmod", Path: p, Err: err}
	}
	return nil
}
