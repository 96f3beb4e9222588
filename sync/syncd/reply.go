package syncd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// fail answers request id with err as a final Error.
func (s *session) fail(id uint32, err error) {
	e := toError(err)
	if e.Code == proto.CodeInternal {
		s.log.Warn("sync request failed", "id", id, "err", err)
	} else {
		s.log.Debug("sync request refused", "id", id, "err", err)
	}
	if serr := s.conn.Send(id, true, e); serr != nil {
		s.log.Debug("send error reply", "id", id, "err", serr)
	}
}

// toError turns an error into the protocol's: a *proto.Error as it is,
// errnos and cancellation by class.
func toError(err error) *proto.Error {
	var pe *proto.Error
	if errors.As(err, &pe) {
		return pe
	}
	code := proto.CodeInternal
	switch {
	case errors.Is(err, context.Canceled):
		code = proto.CodeCanceled
	case errors.Is(err, unix.ENOENT):
		code = proto.CodeNotFound
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, unix.EROFS):
		code = proto.CodePermission
	case errors.Is(err, unix.ELOOP):
		// A symbolic link on the way: sync never goes through one.
		code = proto.CodeConflict
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		code = proto.CodeNoSpace
	case errors.Is(err, unix.ENAMETOOLONG), errors.Is(err, unix.EFBIG):
		code = proto.CodeTooLarge
	case errors.Is(err, unix.EEXIST), errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.ENOTDIR),
		errors.Is(err, unix.EISDIR):
		code = proto.CodeConflict
	}
	return &proto.Error{Code: code, Message: err.Error()}
}

// badRequest is a request the protocol does not allow.
func badRequest(format string, a ...any) error {
	return &proto.Error{Code: proto.CodeBadRequest, Message: fmt.Sprintf(format, a...)}
}

// conflict answers that p is not in the expected state; cur is its state.
func conflict(p string, cur proto.Entry) error {
	e := &proto.Error{Code: proto.CodeConflict, Message: fmt.Sprintf("%s changed on the server", p)}
	if cur.Kind != proto.KindAbsent {
		c := cur
		e.Current = &c
	}
	return e
}

// checkPath refuses a path that is not a sync path ("" is the root only
// where root says it may be) or that lies in the server's own state.
func checkPath(p string, root bool) error {
	if p == "" {
		if root {
			return nil
		}
		return badRequest("the root itself cannot be changed")
	}
	if err := core.ValidPath(p); err != nil {
		return badRequest("%v", err)
	}
	if first, _, _ := strings.Cut(p, "/"); first == core.StateDir {
		return badRequest("%s: %s is the server's own", p, core.StateDir)
	}
	return nil
}

// toEntry converts a scanned entry.
func toEntry(e *scan.Entry) proto.Entry {
	out := proto.Entry{Path: e.Path, Kind: proto.Kind(e.Kind), Size: uint64(e.Size), Mtime: e.Mtime,
		Mode: e.Mode & proto.ModeMask, Target: e.Target}
	if e.HasHash() {
		out.Hash = e.Hash
	}
	return out
}

// scanner returns a Scanner from the pool, and the function to return it.
// A sealed folder's files are hashed by their records (see format.go).
func (s *session) scanner(f proto.Format, hashes bool) (*scan.Scanner, func()) {
	if !hashes {
		return scan.New(s.root, s.scanOptions(f, false)), func() {}
	}
	pool := &s.scans[f&1]
	sc, _ := pool.Get().(*scan.Scanner)
	if sc == nil {
		sc = scan.New(s.root, s.scanOptions(f, true))
	}
	return sc, func() { pool.Put(sc) }
}

// scanOptions leave out uploads in progress and hash with the protocol's
// file hash.
func (s *session) scanOptions(f proto.Format, hashes bool) scan.Options {
	o := scan.Options{Logger: s.log, Exclude: func(p string, dir bool) bool {
		if !strings.HasPrefix(core.Base(p), core.TempPrefix) {
			return false
		}
		if !dir && strings.HasPrefix(core.Base(p), uploadTemp) {
			s.mu.Lock()
			s.temps = append(s.temps, p)
			s.mu.Unlock()
		}
		return true
	}}
	if hashes {
		o.Hasher, o.Oracle = f.Hasher(), s.opt.Oracle
	}
	return o
}

// current returns p's state now (KindAbsent when nothing is there), with
// the inode for the caller's own checks. fresh rehashes a file.
func (s *session) current(p string, fresh bool) (proto.Entry, uint64, error) {
	return s.currentIn(p, fresh, nil)
}

// statMemo is what a request about many paths (Stat) keeps from one path
// to the next: the folder format of each directory (see formatAbove) and the
// last parent directory opened, in which the next path with that parent
// is looked up rather than walked to again (a first sync's closing check
// asks about 1,024 paths at a time, in a few directories). The answers
// are as of the request, as the formats' were: a directory moved while it
// runs may or may not be seen so by its later paths.
type statMemo struct {
	formats map[string]proto.Format
	dirPath string
	dir     *rootfs.Dir
}

func newStatMemo() *statMemo { return &statMemo{formats: map[string]proto.Format{}} }

// parent returns p's parent directory, open, or nil (for a nil memo, or
// one that cannot be opened: the caller then walks to p as for a single
// path, which finds out why).
func (m *statMemo) parent(root *rootfs.Root, p string) *rootfs.Dir {
	if m == nil {
		return nil
	}
	dir := core.Parent(p)
	if m.dir != nil && m.dirPath == dir {
		return m.dir
	}
	m.close()
	d, err := root.OpenDir(dir)
	if err != nil {
		return nil
	}
	m.dir, m.dirPath = d, dir
	return d
}

func (m *statMemo) close() {
	if m.dir != nil {
		m.dir.Close()
		m.dir = nil
	}
}

// currentIn is current for one path of a request about many, with what
// the request's earlier paths found kept in memo (nil for none).
func (s *session) currentIn(p string, fresh bool, memo *statMemo) (proto.Entry, uint64, error) {
	if p == "" {
		st, err := s.root.Lstat("")
		if err != nil {
			return proto.Entry{}, 0, err
		}
		return proto.Entry{Kind: proto.KindDir, Mtime: st.Mtim.Nano(), Mode: st.Mode & proto.ModeMask}, st.Ino, nil
	}
	var formats map[string]proto.Format
	if memo != nil {
		formats = memo.formats
	}
	f, err := s.formatAbove(p, formats)
	if err != nil {
		return proto.Entry{}, 0, err
	}
	sc, put := s.scanner(f, true)
	defer put()
	var (
		e  scan.Entry
		ok bool
	)
	if d := memo.parent(s.root, p); d != nil {
		e, ok, err = sc.StatIn(d, p, fresh)
	} else {
		e, ok, err = sc.Stat(p, fresh)
	}
	if errors.Is(err, unix.ENOENT) || (err == nil && !ok) {
		return proto.Entry{Path: p}, 0, nil
	}
	if err != nil {
		return proto.Entry{}, 0, err
	}
	if e.Err != nil {
		return proto.Entry{}, 0, fmt.Errorf("read %s: %w", p, e.Err)
	}
	return toEntry(&e), e.Ino, nil
}

// matches reports whether cur is the state x expects: nothing, a file with
// x's hash (a file whose hash is unknown, being written, matches nothing),
// a link with x's target, or a directory.
func matches(x proto.Expect, cur proto.Entry) bool {
	if x.Kind != cur.Kind {
		return false
	}
	switch x.Kind {
	case proto.KindFile:
		return !cur.Hash.IsZero() && cur.Hash == x.Hash
	case proto.KindSymlink:
		return cur.Target == x.Target
	}
	return true
}
