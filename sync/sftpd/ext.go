package sftpd

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Names of the extended requests served.
const (
	extPosixRename = "posix-rename@openssh.com"
	extStatvfs     = "statvfs@openssh.com"
	extFstatvfs    = "fstatvfs@openssh.com"
	extHardlink    = "hardlink@openssh.com"
	extFsync       = "fsync@openssh.com"
	extLsetstat    = "lsetstat@openssh.com"
	extLimits      = "limits@openssh.com"
	extExpandPath  = "expand-path@openssh.com"
	extCopyData    = "copy-data"
	extUsersGroups = "users-groups-by-id@openssh.com"
)

// extensions are advertised in VERSION with OpenSSH's version strings.
var extensions = []ExtPair{
	{extPosixRename, "1"},
	{extStatvfs, "2"},
	{extFstatvfs, "2"},
	{extHardlink, "1"},
	{extFsync, "1"},
	{extLsetstat, "1"},
	{extLimits, "1"},
	{extExpandPath, "1"},
	{extCopyData, "1"},
	{extUsersGroups, "1"},
}

// extended answers an EXTENDED request; an unknown one is
// SSH_FX_OP_UNSUPPORTED, a truncated one SSH_FX_BAD_MESSAGE. Bytes after
// the last field are ignored, as in every request.
func (s *session) extended(p *Extended) *[]byte {
	d := &decoder{b: p.Data}
	var reply *[]byte
	switch p.Name {
	case extPosixRename, extHardlink:
		from, to := d.str(), d.str()
		if d.err == nil {
			if p.Name == extHardlink {
				reply = errFrame(p.ID, s.root.Link(from, to))
			} else {
				reply = errFrame(p.ID, s.root.Rename(from, to, 0))
			}
		}
	case extStatvfs:
		pth := d.str()
		if d.err == nil {
			st, err := s.root.StatFS(pth)
			reply = statvfsReply(p.ID, st, err)
		}
	case extFstatvfs:
		h := d.str()
		if d.err == nil {
			reply = s.fstatvfs(p.ID, h)
		}
	case extFsync:
		h := d.str()
		if d.err == nil {
			reply = s.fsync(p.ID, h)
		}
	case extLsetstat:
		pth, a := d.str(), d.attrs()
		if d.err == nil {
			reply = errFrame(p.ID, s.root.LSetAttrs(pth, rootAttrs(a)))
		}
	case extLimits:
		if d.err == nil {
			reply = s.limits(p.ID)
		}
	case extExpandPath:
		pth := d.str()
		if d.err == nil {
			reply = expandPath(p.ID, pth)
		}
	case extCopyData:
		c := copyReq{from: d.str(), fromOff: d.u64(), n: d.u64(), to: d.str(), toOff: d.u64()}
		if d.err == nil {
			reply = errFrame(p.ID, s.copyData(c))
		}
	case extUsersGroups:
		uids, gids := d.bytes(), d.bytes()
		if d.err == nil {
			reply = s.usersGroups(p.ID, uids, gids)
		}
	default:
		return statusFrame(p.ID, StatusOpUnsupported, "Operation unsupported: "+p.Name)
	}
	if d.err != nil {
		return statusFrame(p.ID, StatusBadMessage, fmt.Sprintf("Bad message: %s: %v", p.Name, d.err))
	}
	return reply
}

// statvfsReply encodes statvfs@openssh.com's reply: eleven uint64s in
// struct statvfs's order.
func statvfsReply(id uint32, st *unix.Statfs_t, err error) *[]byte {
	if err != nil {
		return errFrame(id, err)
	}
	var flag uint64
	if st.Flags&unix.ST_RDONLY != 0 {
		flag |= 1 // SSH_FXE_STATVFS_ST_RDONLY
	}
	if st.Flags&unix.ST_NOSUID != 0 {
		flag |= 2 // SSH_FXE_STATVFS_ST_NOSUID
	}
	fsid := uint64(uint32(st.Fsid.Val[0]))<<32 | uint64(uint32(st.Fsid.Val[1]))
	b := make([]byte, 0, 88)
	for _, v := range []uint64{uint64(st.Bsize), uint64(st.Frsize), st.Blocks, st.Bfree, st.Bavail,
		st.Files, st.Ffree, st.Ffree, fsid, flag, uint64(st.Namelen)} {
		b = appendU64(b, v)
	}
	return frame(&ExtendedReply{ID: id, Data: b})
}

// fstatvfs answers fstatvfs@openssh.com for the file system of a handle.
func (s *session) fstatvfs(id uint32, h string) *[]byte {
	oh, ok := s.handles.get(h)
	if !ok {
		return errFrame(id, errBadHandle)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(oh.fd, &st); err != nil {
		return errFrame(id, &os.PathError{Op: "fstatvfs", Path: oh.path, Err: err})
	}
	return statvfsReply(id, &st, nil)
}

// fsync answers fsync@openssh.com on a file handle.
func (s *session) fsync(id uint32, h string) *[]byte {
	oh, err := s.fileHandle(h)
	if err != nil {
		return errFrame(id, err)
	}
	if err := unix.Fsync(oh.fd); err != nil {
		return errFrame(id, &os.PathError{Op: "fsync", Path: oh.path, Err: err})
	}
	return errFrame(id, nil)
}

// limits answers limits@openssh.com: the longest packet, read and write
// and the open handles allowed (0: no limit).
func (s *session) limits(id uint32) *[]byte {
	b := make([]byte, 0, 32)
	b = appendU64(b, uint64(s.opts.MaxPacket))
	b = appendU64(b, uint64(s.maxRead()))
	b = appendU64(b, uint64(s.maxRead()))
	b = appendU64(b, uint64(max(s.opts.MaxHandles, 0)))
	return frame(&ExtendedReply{ID: id, Data: b})
}

// expandPath answers expand-path@openssh.com: "~" and "~/x" expand to the
// home directory, which is the root "/", then the path is made canonical
// as REALPATH does. Another user's "~name" has no meaning here.
func expandPath(id uint32, p string) *[]byte {
	switch {
	case p == "~":
		p = "/"
	case strings.HasPrefix(p, "~/"):
		p = p[1:]
	case strings.HasPrefix(p, "~"):
		return errFrame(id, &os.PathError{Op: "expand-path", Path: p, Err: unix.ENOENT})
	}
	return nameReply(id, cleanPath(p))
}

// usersGroups answers users-groups-by-id@openssh.com: for each uid and gid
// (packed uint32s), its name, or "" when unknown, each list as one string
// of strings.
func (s *session) usersGroups(id uint32, uids, gids []byte) *[]byte {
	if len(uids)%4 != 0 || len(gids)%4 != 0 {
		return statusFrame(id, StatusBadMessage, "Bad message: id list not a multiple of 4 bytes")
	}
	n := s.idNames()
	pack := func(ids []byte, name func(uint32) string) []byte {
		var out []byte
		d := decoder{b: ids}
		for len(d.b) > 0 {
			out = appendStr(out, name(d.u32()))
		}
		return out
	}
	data := appendBytes(nil, pack(uids, n.user))
	data = appendBytes(data, pack(gids, n.group))
	b := getBuf(len(data) + 16)
	*b = AppendFrame(*b, &ExtendedReply{ID: id, Data: data})
	return b
}
