package syncd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/versions"
)

// tmpDir holds uploads in progress and links being made, in the user's
// own state directory (never listed, never synced).
const tmpDir = core.StateDir + "/tmp"

// tmpName returns a fresh name in tmpDir, made sure to exist.
func (s *session) tmpName(kind string) (string, error) {
	for _, d := range []string{core.StateDir, tmpDir} {
		if err := s.root.Mkdir(d, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return "", err
		}
	}
	var b [12]byte
	rand.Read(b[:])
	return path.Join(tmpDir, kind+"-"+hex.EncodeToString(b[:])), nil
}

// displaced is what a change took out of the way: a version in the store,
// or without a store a file set aside in tmpDir until the change is done.
type displaced struct {
	s     *session
	p     string
	v     versions.Version
	aside string
}

// undo puts what displace moved back at its path.
func (d *displaced) undo() {
	if d == nil {
		return
	}
	var err error
	if d.aside != "" {
		err = d.s.root.Rename(d.aside, d.p, unix.RENAME_NOREPLACE)
	} else {
		err = d.s.opt.Versions.Return(d.v)
	}
	if err != nil {
		d.s.log.Warn("put back a replaced file", "path", d.p, "err", err)
	}
}

// finish drops a set-aside file once the change succeeded (a version
// stays in the store).
func (d *displaced) finish() {
	if d != nil && d.aside != "" {
		d.s.root.Remove(d.aside, 0)
	}
}

// displace takes what p holds out of the way of a change that replaces or
// removes it: p must match x; it is moved into the version store (or set
// aside), and the moved inode must be the one checked (same inode, size
// and mtime), else it goes back and the answer is a conflict. Nothing
// there (x absent) is nil. Directories are not displaced.
func (s *session) displace(p string, x proto.Expect) (*displaced, error) {
	cur, ino, err := s.current(p, false)
	if err != nil {
		return nil, err
	}
	if !matches(x, cur) {
		return nil, conflict(p, cur)
	}
	switch x.Kind {
	case proto.KindAbsent:
		return nil, nil
	case proto.KindDir:
		return nil, badRequest("%s: a directory is only removed, never replaced", p)
	}
	d := &displaced{s: s, p: p}
	moved := ""
	if s.opt.Versions != nil {
		if d.v, err = s.opt.Versions.Keep(p, s.opt.Now()); err != nil {
			return nil, err
		}
		moved = path.Join(versions.Dir, d.v.ID)
	} else {
		if d.aside, err = s.tmpName("aside"); err != nil {
			return nil, err
		}
		if err := s.root.Rename(p, d.aside, unix.RENAME_NOREPLACE); err != nil {
			return nil, err
		}
		moved = d.aside
	}
	st, err := s.root.Lstat(moved)
	if err != nil || st.Ino != ino || st.Size != int64(cur.Size) || st.Mtim.Nano() != cur.Mtime {
		d.undo()
		now, _, _ := s.current(p, false)
		return nil, conflict(p, now)
	}
	return d, nil
}

// done answers with p's state now.
func (s *session) done(id uint32, p string) error {
	e, _, err := s.current(p, false)
	if err != nil {
		return err
	}
	e.Path = p
	return s.conn.Send(id, true, &proto.Done{Entry: &e})
}

// setMtime sets p's mtime (and atime) without following a link.
func (s *session) setMtime(p string, mtime int64) error {
	if mtime == 0 {
		return nil
	}
	t := time.Unix(0, mtime)
	return s.root.LSetAttrs(p, rootfs.Attrs{SetTimes: true, Atime: t, Mtime: t})
}

// mkdir makes a directory; one already there is success.
func (s *session) mkdir(r *request, m *proto.Mkdir) error {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	err := s.root.Mkdir(m.Path, m.Mode&proto.ModeMask&^s.opt.Umask)
	if errors.Is(err, unix.EEXIST) {
		cur, _, err := s.current(m.Path, false)
		if err != nil {
			return err
		}
		if cur.Kind != proto.KindDir {
			return conflict(m.Path, cur)
		}
		return s.done(r.id, m.Path)
	}
	if err != nil {
		return err
	}
	if err := s.setMtime(m.Path, m.Mtime); err != nil {
		return err
	}
	return s.done(r.id, m.Path)
}

// symlink makes a link, replacing what Expect names.
func (s *session) symlink(r *request, m *proto.Symlink) error {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	if m.Target == "" || len(m.Target) > proto.MaxPath {
		return badRequest("%s: a link target of %d bytes", m.Path, len(m.Target))
	}
	tmp, err := s.tmpName("link")
	if err != nil {
		return err
	}
	if err := s.root.Symlink(m.Target, tmp); err != nil {
		return err
	}
	if err := s.replace(tmp, m.Path, m.Expect); err != nil {
		return err
	}
	return s.done(r.id, m.Path)
}

// replace renames the new entry tmp to p in place of what x expects there,
// keeping that as a version. tmp is gone afterwards, whatever happened.
func (s *session) replace(tmp, p string, x proto.Expect) error {
	d, err := s.displace(p, x)
	if err != nil {
		s.root.Remove(tmp, 0)
		return err
	}
	if err := s.root.Rename(tmp, p, unix.RENAME_NOREPLACE); err != nil {
		d.undo()
		s.root.Remove(tmp, 0)
		if errors.Is(err, unix.EEXIST) {
			cur, _, _ := s.current(p, false)
			return conflict(p, cur)
		}
		return err
	}
	d.finish()
	s.syncDir(p)
	return nil
}

// syncDir makes a change of the entry p (made, renamed, removed) durable
// before the answer that reports it (a group commit), or by the next Flush
// for a client that flushes (see dirSyncs).
func (s *session) syncDir(p string) {
	if err := s.disk.changed(p); err != nil {
		s.log.Warn("sync to disk", "err", err)
	}
}

// flush answers Flush once every change answered so far is durable.
func (s *session) flush(r *request) error {
	if err := s.disk.flush(); err != nil {
		return err
	}
	return s.conn.Send(r.id, true, &proto.Done{})
}

// staleAfter is the age at which an unfinished upload's temporary file is
// given up: a client resumes within minutes or hours, not days.
const staleAfter = 24 * time.Hour

// removeStaleTemps removes the upload temporary files beside their
// destinations that scans passed since the last call and that were not
// written for staleAfter: what a server killed in the middle of an upload
// left (a failed upload removes its own).
func (s *session) removeStaleTemps() {
	s.mu.Lock()
	temps := s.temps
	s.temps = nil
	s.mu.Unlock()
	for _, p := range temps {
		st, err := s.root.Lstat(p)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && s.opt.Now().Sub(time.Unix(0, st.Mtim.Nano())) > staleAfter {
			if err := s.root.Remove(p, 0); err == nil {
				s.log.Info("removed an abandoned upload", "file", p)
			}
		}
	}
}

// removeStale removes temporary files in tmpDir not written for staleAfter.
func (s *session) removeStale() {
	d, err := s.root.OpenDir(tmpDir)
	if err != nil {
		return
	}
	defer d.Close()
	var names []string
	d.ReadNames(make([]byte, 8<<10), func(name []byte, _ rootfs.DirentType) { names = append(names, string(name)) })
	for _, n := range names {
		var st unix.Stat_t
		if d.Lstat(n, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && s.opt.Now().Sub(time.Unix(0, st.Mtim.Nano())) > staleAfter {
			if err := s.root.Remove(path.Join(tmpDir, n), 0); err == nil {
				s.log.Info("removed an abandoned upload", "file", n)
			}
		}
	}
}
