package server

import (
	"io"
	"os"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// sftpFS implements pkg/sftp's request-server handlers over a rootfs.Root. It
// runs in the session child, as the user: the kernel checks every
// permission.
type sftpFS struct {
	r       *rootfs.Root
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
		return f.r.Rename(r.Filepath, r.Target, unix.RENAME_NOREPLACE)
	case "Rmdir":
		return f.r.Remove(r.Filepath, unix.AT_REMOVEDIR)
	case "Remove":
		return f.r.Remove(r.Filepath, 0)
	case "Mkdir":
		return f.r.Mkdir(r.Filepath, 0o777)
	case "Link":
		return f.r.Link(r.Filepath, r.Target)
	case "Symlink":
		return f.r.Symlink(r.Filepath, r.Target)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename renames, replacing an existing target (posix-rename@openssh.com).
func (f *sftpFS) PosixRename(r *sftp.Request) error {
	return f.r.Rename(r.Filepath, r.Target, 0)
}

// StatVFS answers statvfs@openssh.com for the file system holding the path.
func (f *sftpFS) StatVFS(r *sftp.Request) (*sftp.StatVFS, error) {
	s, err := f.r.StatFS(r.Filepath)
	if err != nil {
		return nil, err
	}
	return &sftp.StatVFS{
		Bsize: uint64(s.Bsize), Frsize: uint64(s.Frsize), Blocks: s.Blocks, Bfree: s.Bfree,
		Bavail: s.Bavail, Files: s.Files, Ffree: s.Ffree, Favail: s.Ffree,
		Fsid: uint64(uint32(s.Fsid.Val[0])) | uint64(uint32(s.Fsid.Val[1]))<<32,
		Flag: uint64(s.Flags), Namemax: uint64(s.Namelen),
	}, nil
}

func (f *sftpFS) setstat(r *sftp.Request) error {
	flags, attrs := r.AttrFlags(), r.Attributes()
	return f.r.SetAttrs(r.Filepath, rootfs.Attrs{
		SetSize: flags.Size, Size: int64(attrs.Size),
		SetOwner: flags.UidGid, UID: int(attrs.UID), GID: int(attrs.GID),
		SetMode: flags.Permissions, Mode: attrs.Mode,
		SetTimes: flags.Acmodtime, Atime: time.Unix(int64(attrs.Atime), 0), Mtime: time.Unix(int64(attrs.Mtime), 0),
	})
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
func (f *sftpFS) Readlink(p string) (string, error) { return f.r.Readlink(p) }

func (f *sftpFS) stat(p string, follow bool) (sftp.ListerAt, error) {
	fi, err := f.r.Stat(p, follow)
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
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
