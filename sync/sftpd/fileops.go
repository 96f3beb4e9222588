package sftpd

import (
	"os"

	"golang.org/x/sys/unix"
)

// openFlags turns OPEN's pflags into open(2) flags, as OpenSSH's
// sftp-server does (APPEND included: writes then use pwrite, which appends
// on Linux whatever the offset, as there).
func openFlags(pflags uint32) int {
	var f int
	switch {
	case pflags&OpenRead != 0 && pflags&OpenWrite != 0:
		f = unix.O_RDWR
	case pflags&OpenWrite != 0:
		f = unix.O_WRONLY
	default:
		f = unix.O_RDONLY
	}
	if pflags&OpenAppend != 0 {
		f |= unix.O_APPEND
	}
	if pflags&OpenCreat != 0 {
		f |= unix.O_CREAT
	}
	if pflags&OpenTrunc != 0 {
		f |= unix.O_TRUNC
	}
	if pflags&OpenExcl != 0 {
		f |= unix.O_EXCL
	}
	return f
}

// createMode is the mode OPEN and MKDIR create with: the client's
// permissions if it sent them, else def (0666 for files, 0777 for
// directories), as OpenSSH's sftp-server; the kernel applies the umask.
func createMode(a Attrs, def uint32) uint32 {
	if a.Flags&AttrPermissions != 0 {
		return a.Permissions & 0o7777
	}
	return def
}

// statAttrs returns the ATTRS of a stat buffer, with atime and mtime each
// its own.
func statAttrs(st *unix.Stat_t) Attrs {
	return Attrs{
		Flags: AttrSize | AttrUIDGID | AttrPermissions | AttrAcmodtime,
		Size:  uint64(st.Size), UID: st.Uid, GID: st.Gid, Permissions: st.Mode,
		Atime: uint32(st.Atim.Sec), Mtime: uint32(st.Mtim.Sec),
	}
}

// fstat returns the attributes of the open file f (FSTAT): those of the
// descriptor, whatever has become of the path it was opened with.
func fstat(f *os.File) (Attrs, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Attrs{}, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return statAttrs(&st), nil
}

// fsetstat changes the attributes of the open file f (FSETSTAT) on the
// descriptor, in OpenSSH's order: size, permissions, times, owner; it stops
// at the first failure.
func fsetstat(f *os.File, a Attrs) error {
	fd := int(f.Fd())
	wrap := func(op string, err error) error {
		if err != nil {
			return &os.PathError{Op: op, Path: f.Name(), Err: err}
		}
		return nil
	}
	if a.Flags&AttrSize != 0 {
		if err := wrap("ftruncate", unix.Ftruncate(fd, int64(a.Size))); err != nil {
			return err
		}
	}
	if a.Flags&AttrPermissions != 0 {
		if err := wrap("fchmod", unix.Fchmod(fd, a.Permissions&0o7777)); err != nil {
			return err
		}
	}
	if a.Flags&AttrAcmodtime != 0 {
		tv := []unix.Timeval{{Sec: int64(a.Atime)}, {Sec: int64(a.Mtime)}}
		if err := wrap("futimes", unix.Futimes(fd, tv)); err != nil {
			return err
		}
	}
	if a.Flags&AttrUIDGID != 0 {
		if err := wrap("fchown", unix.Fchown(fd, int(a.UID), int(a.GID))); err != nil {
			return err
		}
	}
	return nil
}
