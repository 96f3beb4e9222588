package syncd

import (
	"errors"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
)

// rename moves From to To when From matches Expect and To matches
// ExpectTo; what To held is kept as a version.
func (s *session) rename(r *request, m *proto.Rename) error {
	if err := checkPath(m.From, false); err != nil {
		return err
	}
	if err := checkPath(m.To, false); err != nil {
		return err
	}
	cur, ino, err := s.current(m.From, false)
	if err != nil {
		return err
	}
	if m.Expect.Kind == proto.KindAbsent || !matches(m.Expect, cur) {
		return conflict(m.From, cur)
	}
	d, err := s.displace(m.To, m.ExpectTo)
	if err != nil {
		return err
	}
	if err := s.root.Rename(m.From, m.To, unix.RENAME_NOREPLACE); err != nil {
		d.undo()
		if errors.Is(err, unix.EEXIST) {
			now, _, _ := s.current(m.To, false)
			return conflict(m.To, now)
		}
		return err
	}
	// From may have been swapped between the check and the rename.
	if st, err := s.root.Lstat(m.To); err != nil || st.Ino != ino {
		if err := s.root.Rename(m.To, m.From, unix.RENAME_NOREPLACE); err != nil {
			s.log.Warn("undo a raced rename", "from", m.From, "to", m.To, "err", err)
		}
		d.undo()
		now, _, _ := s.current(m.From, false)
		return conflict(m.From, now)
	}
	d.finish()
	s.syncDir(m.To)
	s.syncDir(m.From)
	return s.done(r.id, m.To)
}

// delete removes Path when it matches Expect: a file or link into the
// version store, a directory only when empty.
func (s *session) delete(r *request, m *proto.Delete) error {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	if m.Expect.Kind == proto.KindDir {
		cur, _, err := s.current(m.Path, false)
		if err != nil {
			return err
		}
		if cur.Kind != proto.KindDir {
			return conflict(m.Path, cur)
		}
		if err := s.root.Remove(m.Path, unix.AT_REMOVEDIR); err != nil {
			if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
				return conflict(m.Path, cur)
			}
			return err
		}
		s.syncDir(m.Path)
		return s.conn.Send(r.id, true, &proto.Done{})
	}
	if m.Expect.Kind == proto.KindAbsent {
		return badRequest("%s: delete expects something there", m.Path)
	}
	d, err := s.displace(m.Path, m.Expect)
	if err != nil {
		return err
	}
	d.finish()
	s.syncDir(m.Path)
	return s.conn.Send(r.id, true, &proto.Done{})
}

// setAttr sets the permission bits (not of a link) and mtime of Path when
// it matches Expect.
func (s *session) setAttr(r *request, m *proto.SetAttr) error {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	cur, _, err := s.current(m.Path, false)
	if err != nil {
		return err
	}
	if m.Expect.Kind == proto.KindAbsent || !matches(m.Expect, cur) {
		return conflict(m.Path, cur)
	}
	if cur.Kind != proto.KindSymlink && cur.Mode != m.Mode&proto.ModeMask {
		if err := s.root.LSetAttrs(m.Path, rootfs.Attrs{SetMode: true, Mode: m.Mode & proto.ModeMask}); err != nil {
			return err
		}
	}
	if m.Mtime != 0 && m.Mtime != cur.Mtime {
		if err := s.setMtime(m.Path, m.Mtime); err != nil {
			return err
		}
	}
	return s.done(r.id, m.Path)
}

// versions lists the kept versions of Path (of everything below a
// directory), oldest first.
func (s *session) versions(r *request, m *proto.Versions) error {
	if s.opt.Versions == nil {
		return &proto.Error{Code: proto.CodeUnsupported, Message: "this server keeps no versions"}
	}
	if err := checkPath(m.Path, true); err != nil {
		return err
	}
	vs, err := s.opt.Versions.List(m.Path)
	if err != nil {
		return err
	}
	out := make([]proto.Version, 0, min(len(vs), proto.MaxBatch))
	for i, v := range vs {
		out = append(out, proto.Version{ID: v.ID, Kept: v.Kept.UnixNano(), Entry: proto.Entry{Path: v.Path,
			Kind: proto.Kind(v.Kind), Size: uint64(v.Size), Mtime: v.Mtime, Mode: v.Mode, Target: v.Target}})
		if len(out) == 256 && i < len(vs)-1 {
			if err := s.conn.Send(r.id, false, &proto.VersionList{Versions: out}); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	return s.conn.Send(r.id, true, &proto.VersionList{Versions: out})
}

// restore brings back version Version of Path at To (Path when empty),
// when To matches Expect; what To held is kept as a version.
func (s *session) restore(r *request, m *proto.Restore) error {
	if s.opt.Versions == nil {
		return &proto.Error{Code: proto.CodeUnsupported, Message: "this server keeps no versions"}
	}
	to := m.To
	if to == "" {
		to = m.Path
	}
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	if err := checkPath(to, false); err != nil {
		return err
	}
	v, err := s.opt.Versions.Get(m.Version)
	if err != nil {
		return badRequest("%v", err)
	}
	if v.Path != m.Path {
		return badRequest("version %s is of %s, not %s", m.Version, v.Path, m.Path)
	}
	cur, _, err := s.current(to, false)
	if err != nil {
		return err
	}
	if !matches(m.Expect, cur) {
		return conflict(to, cur)
	}
	if _, err := s.opt.Versions.Restore(m.Version, to, s.opt.Now()); err != nil {
		return err
	}
	return s.done(r.id, to)
}
