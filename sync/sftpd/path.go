package sftpd

import (
	"errors"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// pathReq answers the requests that carry one path.
func (s *session) pathReq(p *PathReq) *[]byte {
	switch p.T {
	case TypeLstat, TypeStat:
		return s.stat(p.ID, p.Path, p.T == TypeStat)
	case TypeOpendir:
		return s.opendir(p.ID, p.Path)
	case TypeRemove:
		return errFrame(p.ID, s.root.Remove(p.Path, 0))
	case TypeRmdir:
		return errFrame(p.ID, s.root.Remove(p.Path, unix.AT_REMOVEDIR))
	case TypeRealpath:
		return nameReply(p.ID, cleanPath(p.Path))
	case TypeReadlink:
		t, err := s.root.Readlink(p.Path)
		if err != nil {
			return errFrame(p.ID, err)
		}
		return nameReply(p.ID, t)
	}
	return statusFrame(p.ID, StatusOpUnsupported, "Operation unsupported")
}

// stat answers STAT (follow) and LSTAT.
func (s *session) stat(id uint32, p string, follow bool) *[]byte {
	st, err := s.root.Stat(p, follow)
	if err != nil {
		return errFrame(id, err)
	}
	return frame(&AttrsReply{ID: id, Attrs: statAttrs(&st)})
}

// nameReply is a NAME reply of one name without attributes, as REALPATH
// and READLINK answer (the long name is the name, as OpenSSH's).
func nameReply(id uint32, name string) *[]byte {
	return frame(&Name{ID: id, Entries: []NameEntry{{Name: name, LongName: name}}})
}

// cleanPath is the canonical client path of p: absolute and clean, "" and
// "." being the root. It resolves no symbolic links: the client's view of
// a path is lexical, and every server-side lookup resolves beneath the
// root anyway.
func cleanPath(p string) string { return path.Clean("/" + p) }

// pathAttrs answers SETSTAT and MKDIR.
func (s *session) pathAttrs(p *PathAttrs) *[]byte {
	if p.T == TypeMkdir {
		mode := createMode(p.Attrs, 0o777) &^ s.opts.Umask
		return errFrame(p.ID, s.root.Mkdir(p.Path, mode))
	}
	return errFrame(p.ID, s.root.SetAttrs(p.Path, rootAttrs(p.Attrs)))
}

// rootAttrs turns SFTP attributes into rootfs's, atime and mtime each its
// own.
func rootAttrs(a Attrs) rootfs.Attrs {
	return rootfs.Attrs{
		SetSize: a.Flags&AttrSize != 0, Size: int64(a.Size),
		SetOwner: a.Flags&AttrUIDGID != 0, UID: int(a.UID), GID: int(a.GID),
		SetMode: a.Flags&AttrPermissions != 0, Mode: a.Permissions & 0o7777,
		SetTimes: a.Flags&AttrAcmodtime != 0,
		Atime:    time.Unix(int64(a.Atime), 0), Mtime: time.Unix(int64(a.Mtime), 0),
	}
}

// twoPaths answers RENAME and SYMLINK.
func (s *session) twoPaths(p *TwoPaths) *[]byte {
	if p.T == TypeSymlink {
		// OpenSSH's order: the target first, then the link.
		return errFrame(p.ID, s.root.Symlink(p.A, p.B))
	}
	return errFrame(p.ID, s.renameNoReplace(p.A, p.B))
}

// renameNoReplace renames as SFTP v3 asks: never over an existing file.
// renameat2's RENAME_NOREPLACE does that atomically; on a file system
// without it (EINVAL), it checks and then renames, as OpenSSH's fallback.
func (s *session) renameNoReplace(from, to string) error {
	err := s.root.Rename(from, to, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) {
		return err
	}
	if _, serr := s.root.Stat(to, false); serr == nil {
		return &os.PathError{Op: "rename", Path: to, Err: unix.EEXIST}
	}
	return s.root.Rename(from, to, 0)
}
