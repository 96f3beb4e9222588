package rootfs

import (
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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

// Sys returns the owner, mode, size and times as a *syscall.Stat_t (the
// fields pkg/sftp reads; the others are zero).
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
