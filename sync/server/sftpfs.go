package server

import (
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// sftpFS implements pkg/sftp's request-server handlers over a rootFS. It
// runs in the session child, as the user: the kernel checks every
// permission.
type sftpFS struct {
	r       *rootFS
	handles *handleLimit // the session's open file and directory handles
}

// handlers returns the sftp.Handlers for fsys.
func (f *sftpFS) handlers() sftp.Handlers {
	return sftp.Handlers{FileGet: f, FilePut: f, FileCmd: f, FileList: f}
}

// Fileread opens a file for reading.
func (f *sftpFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	h, err := f.openHandle(r.Filepath, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Filewrite opens a file for writing.
func (f *sftpFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	h, err := f.openWrite(r, unix.O_WRONLY)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// OpenFile opens a file for reading and writing.
func (f *sftpFS) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	h, err := f.openWrite(r, unix.O_RDWR)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (f *sftpFS) openWrite(r *sftp.Request, flags int) (*handleFile, error) {
	pf := r.Pflags()
	if pf.Creat {
		flags |= unix.O_CREAT
	}
	if pf.Trunc {
		flags |= unix.O_TRUNC
	}
	if pf.Excl {
		flags |= unix.O_EXCL
	}
	// Append is not passed on as O_APPEND: the client sends offsets, and
	// WriteAt refuses files opened with O_APPEND.
	return f.openHandle(r.Filepath, flags, 0o666)
}

// Filecmd runs the path commands.
func (f *sftpFS) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Setstat":
		return f.setstat(r)
	case "Rename":
		return f.rename(r.Filepath, r.Target, unix.RENAME_NOREPLACE)
	case "Rmdir":
		return f.unlink(r.Filepath, unix.AT_REMOVEDIR)
	case "Remove":
		return f.unlink(r.Filepath, 0)
	case "Mkdir":
		return f.atParent(r.Filepath, "mkdir", func(dir int, base string) error {
			return unix.Mkdirat(dir, base, 0o777)
		})
	case "Link":
		return f.link(r.Filepath, r.Target)
	case "Symlink":
		return f.symlink(r.Filepath, r.Target)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename renames, replacing an existing target (posix-rename@openssh.com).
func (f *sftpFS) PosixRename(r *sftp.Request) error {
	return f.rename(r.Filepath, r.Target, 0)
}

// StatVFS answers statvfs@openssh.com for the file system holding the path.
func (f *sftpFS) StatVFS(r *sftp.Request) (*sftp.StatVFS, error) {
	h, err := f.r.open(r.Filepath, unix.O_PATH, 0, true)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var s unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &s); err != nil {
		return nil, &os.PathError{Op: "statvfs", Path: r.Filepath, Err: err}
	}
	return &sftp.StatVFS{
		Bsize: uint64(s.Bsize), Frsize: uint64(s.Frsize), Blocks: s.Blocks, Bfree: s.Bfree,
		Bavail: s.Bavail, Files: s.Files, Ffree: s.Ffree, Favail: s.Ffree,
		Fsid: uint64(uint32(s.Fsid.Val[0])) | uint64(uint32(s.Fsid.Val[1]))<<32,
		Flag: uint64(s.Flags), Namemax: uint64(s.Namelen),
	}, nil
}

// atParent runs fn on the handle of p's parent directory and p's final name.
func (f *sftpFS) atParent(p, op string, fn func(dir int, base string) error) error {
	d, base, err := f.r.parent(p)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fn(int(d.Fd()), base); err != nil {
		return &os.PathError{Op: op, Path: p, Err: err}
	}
	return nil
}

func (f *sftpFS) unlink(p string, flags int) error {
	return f.atParent(p, "remove", func(dir int, base string) error {
		return unix.Unlinkat(dir, base, flags)
	})
}

func (f *sftpFS) rename(from, to string, flags uint) error {
	return f.atParent(from, "rename", func(odir int, obase string) error {
		return f.atParent(to, "rename", func(ndir int, nbase string) error {
			return unix.Renameat2(odir, obase, ndir, nbase, flags)
		})
	})
}

func (f *sftpFS) link(from, to string) error {
	return f.atParent(from, "link", func(odir int, obase string) error {
		return f.atParent(to, "link", func(ndir int, nbase string) error {
			return unix.Linkat(odir, obase, ndir, nbase, 0)
		})
	})
}

// symlink makes link point at target. A target given as an absolute client
// path is stored relative to the link's directory, so that the link means
// the same on the server as through SFTP and stays inside the root.
func (f *sftpFS) symlink(target, link string) error {
	if path.IsAbs(target) {
		rel, err := filepath.Rel(path.Dir(path.Clean(link)), path.Clean(target))
		if err != nil {
			return &os.PathError{Op: "symlink", Path: link, Err: unix.EINVAL}
		}
		target = rel
	}
	return f.atParent(link, "symlink", func(dir int, base string) error {
		return unix.Symlinkat(target, dir, base)
	})
}

func (f *sftpFS) setstat(r *sftp.Request) error {
	h, err := f.r.open(r.Filepath, unix.O_PATH, 0, true)
	if err != nil {
		return err
	}
	defer h.Close()
	flags, attrs, pp := r.AttrFlags(), r.Attributes(), procPath(h)
	wrap := func(op string, err error) error {
		if err != nil {
			return &os.PathError{Op: op, Path: r.Filepath, Err: err}
		}
		return nil
	}
	if flags.Size {
		if err := wrap("truncate", unix.Truncate(pp, int64(attrs.Size))); err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := wrap("chown", unix.Chown(pp, int(attrs.UID), int(attrs.GID))); err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := wrap("chmod", unix.Chmod(pp, attrs.Mode&0o7777)); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		ts := []unix.Timespec{unix.NsecToTimespec(int64(attrs.Atime) * 1e9), unix.NsecToTimespec(int64(attrs.Mtime) * 1e9)}
		if err := wrap("utimes", unix.UtimesNanoAt(unix.AT_FDCWD, pp, ts, 0)); err != nil {
			return err
		}
	}
	return nil
}

// Filelist answers List (directory listing), Stat and Readlink.
func (f *sftpFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List": // opendir: the listing is held until the handle is closed
		h, err := f.listHandle(r.Filepath)
		if err != nil {
			return nil, err
		}
		return h, nil
	case "Stat":
		return f.stat(r.Filepath, true)
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat answers Lstat without following a final symbolic link.
func (f *sftpFS) Lstat(r *sftp.Request) (sftp.ListerAt, error) { return f.stat(r.Filepath, false) }

// Readlink returns a symbolic link's target as stored.
func (f *sftpFS) Readlink(p string) (string, error) {
	h, err := f.r.open(p, unix.O_PATH, 0, false)
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

func (f *sftpFS) stat(p string, follow bool) (sftp.ListerAt, error) {
	h, err := f.r.open(p, unix.O_PATH, 0, follow)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	fi, err := statAt(int(h.Fd()), "", path.Base(p), unix.AT_EMPTY_PATH)
	if err != nil {
		return nil, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return listerAt{fi}, nil
}

func (f *sftpFS) list(p string) (listerAt, error) {
	d, err := f.r.open(p, unix.O_RDONLY|unix.O_DIRECTORY, 0, true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, &os.PathError{Op: "readdir", Path: p, Err: err}
	}
	out := make(listerAt, 0, len(names))
	for _, n := range names {
		fi, err := statAt(int(d.Fd()), n, n, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, fi)
	}
	return out, nil
}

// statAt stats name relative to dir and returns an os.FileInfo whose Sys is
// a *syscall.Stat_t, which pkg/sftp reads owner ids from.
func statAt(dir int, name, base string, flags int) (os.FileInfo, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(dir, name, &st, flags)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &fileInfo{name: base, st: st}, nil
	}
}

// fileInfo is an os.FileInfo built from a stat buffer.
type fileInfo struct {
	name string
	st   unix.Stat_t
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }

// Sys returns the fields pkg/sftp reads (owner, mode, size, times) as a
// *syscall.Stat_t.
func (fi *fileInfo) Sys() any {
	return &syscall.Stat_t{
		Uid: fi.st.Uid, Gid: fi.st.Gid, Mode: fi.st.Mode, Size: fi.st.Size,
		Atim: syscall.NsecToTimespec(fi.st.Atim.Nano()), Mtim: syscall.NsecToTimespec(fi.st.Mtim.Nano()),
	}
}

func (fi *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	}
	if fi.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// listerAt is a fixed list of entries.
type listerAt []os.FileInfo

// ListAt copies entries from offset off into ls.
func (l listerAt) ListAt(ls []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[off:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}
