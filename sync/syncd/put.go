package syncd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/durable"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// upload is one Put in progress.
type upload struct {
	s    *session
	m    *proto.Put
	name string              // the temporary file (see tempPath)
	dir  *rootfs.Dir         // the destination's directory, for a file beside it
	f    *os.File            // the temporary file
	off  int64               // bytes written so far
	h    proto.ContentHasher // hashes the bytes as they are written
	// format is the folder's: a sealed file is hashed by its records.
	format proto.Format
	base   *os.File // the file being replaced, for Copy
	wb     writeback
	es     earlySync
	// dw writes the bytes past directFrom (see direct.go); buffered is
	// set once the upload is to use the page cache to its end.
	dw       *directWriter
	buffered bool
}

// tempPath names the temporary file of an upload. A resumable one lives in
// tmpDir under its transfer id, where a later session finds it and where
// abandoned ones are cleaned up (removeStale). Any other is written beside
// its destination, as rsync does, so that committing it is a rename
// within one directory: a rename across directories takes the file
// system's rename lock, and 10,000 small uploads at once queued on it (and
// on tmpDir's own lock) for most of their time. Scans and the watcher
// leave out names with core.TempPrefix; list removes old ones.
func tempPath(m *proto.Put) string {
	id := hex.EncodeToString(m.Transfer[:])
	if m.Resume {
		return path.Join(tmpDir, "put-"+id)
	}
	return path.Join(core.Parent(m.Path), uploadTemp+id)
}

// uploadTemp starts the name of an upload's temporary file beside its
// destination.
const uploadTemp = core.TempPrefix + "put-"

// put serves an upload: Put, then Data and Copy frames in order, then
// Commit. The temporary file survives a cancel or a broken connection (a
// later Put with Resume continues it) unless the Cancel says Discard.
func (s *session) put(r *request, m *proto.Put) (err error) {
	if err := checkPath(m.Path, false); err != nil {
		return err
	}
	format, err := s.checkFileFormat(m.Path, m.Format)
	if err != nil {
		return err
	}
	if m.Expect.Kind == proto.KindDir {
		return badRequest("%s: an upload cannot replace a directory", m.Path)
	}
	if m.Resume {
		if _, err := s.tmpName("check"); err != nil { // makes tmpDir
			return err
		}
	}
	u := &upload{s: s, m: m, name: tempPath(m), format: format}
	if err := u.open(); err != nil {
		return err
	}
	keep, committed := false, false
	defer func() {
		u.h.Close()
		if u.dw != nil {
			if keep {
				u.dw.finish() // what arrived, for the resume
			}
			u.dw.release()
		}
		u.f.Close()
		if u.base != nil {
			u.base.Close()
		}
		if !keep && !committed {
			if u.dir != nil {
				u.dir.Remove(path.Base(u.name), 0)
			} else {
				s.root.Remove(u.name, 0)
			}
		}
		if u.dir != nil {
			u.dir.Close()
		}
	}()
	// Only a resumable upload waits to learn where to continue; any other
	// streams from 0 at once, and an answer to it would be one frame more
	// each way for nothing (10,000 in a first sync of 10,000 files).
	if m.Resume {
		if err := s.conn.Send(r.id, false, &proto.PutReady{Offset: uint64(u.off)}); err != nil {
			return err
		}
	}
	for {
		var f proto.Frame
		select {
		case f = <-r.in:
		case <-r.ctx.Done():
			// The client went away: keep for a resume, with every byte
			// that arrived before.
			keep = m.Resume
			if keep {
				u.drain(r.in)
			}
			return r.ctx.Err()
		}
		switch m := f.Msg.(type) {
		case *proto.Cancel:
			keep = !m.Discard && u.m.Resume
			return context.Canceled
		case *proto.Data:
			err = u.data(m)
			m.Release() // data keeps nothing of it
		case *proto.Copy:
			err = u.copy(m)
		case *proto.Commit:
			e, err := u.commit(m)
			if err != nil {
				return err
			}
			committed = true
			return s.conn.Send(r.id, true, &proto.Done{Entry: e})
		}
		if err != nil {
			return err
		}
		if f.Final {
			return badRequest("upload of %s ended without a commit", u.m.Path)
		}
	}
}

// open opens the temporary file: the one a resumed transfer left, synced
// and continued at its end (its bytes so far hashed again), or a new empty
// one.
func (u *upload) open() error {
	u.h = u.format.NewContentHasher()
	if !u.m.Resume {
		// A name of its own (the transfer id is random), made with
		// O_EXCL: no other session can be writing it.
		d, err := u.s.root.OpenDir(core.Parent(u.m.Path))
		if err != nil {
			return err
		}
		f, err := d.Create(path.Base(u.name), unix.O_RDWR|unix.O_EXCL, 0o600)
		if err != nil {
			d.Close()
			return err
		}
		u.dir, u.f = d, f
		return nil
	}
	f, err := u.s.root.OpenFile(u.name, unix.O_RDWR|unix.O_CREAT, 0o600, false)
	if err != nil {
		return err
	}
	// One session at a time writes a transfer's file: a client that
	// reconnects while its old session still runs (a killed client's child
	// notices only at its next read) must not write beside it.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return &proto.Error{Code: proto.CodeConflict, Message: fmt.Sprintf("upload of %s: in progress in another session", u.m.Path)}
	}
	// What an interrupted session of this transfer left: synced, hashed
	// again, continued at its end.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	st, err := f.Stat()
	if err == nil {
		_, err = io.Copy(u.h, io.NewSectionReader(f, 0, st.Size()))
	}
	if err != nil {
		f.Close()
		return err
	}
	u.f, u.off = f, st.Size()
	u.wb.started = u.off // synced above
	return nil
}

// data writes bytes at the upload's end: through the page cache up to
// directFrom, with O_DIRECT after it where it can (direct.go).
func (u *upload) data(m *proto.Data) error {
	if int64(m.Offset) != u.off {
		return badRequest("upload of %s: data at %d, expected %d", u.m.Path, m.Offset, u.off)
	}
	b := m.Bytes
	if u.dw == nil && !u.buffered {
		// The first aligned offset from directFrom on.
		at := max(directFrom, (u.off+directAlign-1)&^(directAlign-1))
		if k := at - u.off; k < int64(len(b)) {
			if err := u.write(b[:k]); err != nil {
				return err
			}
			b = b[k:]
			u.dw = startDirect(u.f, u.off)
			u.buffered = u.dw == nil
		}
	}
	return u.write(b)
}

// write appends b to the temporary file and to the hash.
func (u *upload) write(b []byte) error {
	if u.dw != nil {
		if err := u.dw.write(b); err != nil {
			return err
		}
		u.h.Write(b)
		u.off += int64(len(b))
		u.es.advance(u.f, u.off)
		return nil
	}
	n, err := u.f.WriteAt(b, u.off)
	u.h.Write(b[:n])
	u.off += int64(n)
	u.wb.advance(u.f, u.off)
	u.es.advance(u.f, u.off)
	return err
}

// endDirect writes what the direct writer holds and goes on through the
// page cache.
func (u *upload) endDirect() error {
	u.buffered = true
	if u.dw == nil {
		return nil
	}
	err := u.dw.finish()
	u.dw = nil
	return err
}

// copy appends a range of the file being replaced.
func (u *upload) copy(m *proto.Copy) error {
	if int64(m.Offset) != u.off {
		return badRequest("upload of %s: copy at %d, expected %d", u.m.Path, m.Offset, u.off)
	}
	if u.m.Expect.Kind != proto.KindFile {
		return badRequest("upload of %s: copy without a file to copy from", u.m.Path)
	}
	// copy_file_range and the fallback's buffer are not for O_DIRECT.
	if err := u.endDirect(); err != nil {
		return err
	}
	if u.base == nil {
		f, _, err := u.s.openFile(u.m.Path)
		if err != nil {
			return err
		}
		u.base = f
	}
	src, dst := int64(m.BaseOffset), u.off
	defer func(from int64) { u.hashRange(from, u.off) }(u.off)
	for left := int(m.Length); left > 0; {
		n, err := unix.CopyFileRange(int(u.base.Fd()), &src, int(u.f.Fd()), &dst, left, 0)
		if err != nil || n == 0 {
			// EXDEV, EINVAL, a base cut short: read and write.
			buf := make([]byte, min(left, 1<<20))
			k, rerr := u.base.ReadAt(buf, src)
			if k == 0 {
				if rerr == nil || rerr == io.EOF {
					rerr = fmt.Errorf("the file being replaced is shorter than %d", src+1)
				}
				return &proto.Error{Code: proto.CodeConflict, Message: fmt.Sprintf("upload of %s: %v", u.m.Path, rerr)}
			}
			if _, err := u.f.WriteAt(buf[:k], dst); err != nil {
				return err
			}
			n = k
			src += int64(k)
			dst += int64(k)
		}
		left -= n
	}
	u.off = dst
	u.wb.advance(u.f, u.off)
	return nil
}

// drain writes the Data and Copy frames already received on in, up to
// the first one that fails.
func (u *upload) drain(in <-chan proto.Frame) {
	for {
		select {
		case f := <-in:
			var err error
			switch m := f.Msg.(type) {
			case *proto.Data:
				err = u.data(m)
				m.Release()
			case *proto.Copy:
				err = u.copy(m)
			default:
				return
			}
			if err != nil {
				return
			}
		default:
			return
		}
	}
}

// rename puts the committed temporary file in place: beside a new path,
// with a rename in its directory that refuses an existing name (nothing
// was expected there: a conflict), else through replace.
func (u *upload) rename() error {
	if u.dir == nil || u.m.Expect.Kind != proto.KindAbsent {
		return u.s.replace(u.name, u.m.Path, u.m.Expect)
	}
	if err := u.dir.Rename(path.Base(u.name), path.Base(u.m.Path), unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) {
			cur, _, _ := u.s.current(u.m.Path, false)
			return conflict(u.m.Path, cur)
		}
		return err
	}
	u.s.syncDir(u.m.Path)
	return nil
}

// durableFile makes an upload's file durable before its rename; tests
// wrap it to watch the order.
var durableFile = (*durable.Content).Sync

// hashRange adds the bytes from..to of the temporary file to the hash:
// what a Copy put there, read back from the page cache.
func (u *upload) hashRange(from, to int64) {
	if to > from {
		io.Copy(u.h, io.NewSectionReader(u.f, from, to-from))
	}
}

// commit checks the upload against its size and hash, gives it its mode
// and mtime, syncs it and renames it into place (see replace).
func (u *upload) commit(c *proto.Commit) (*proto.Entry, error) {
	// Every byte in the file before anything else: the fsync below is
	// what makes them durable, direct or not.
	if err := u.endDirect(); err != nil {
		return nil, err
	}
	if err := u.es.wait(); err != nil {
		return nil, fmt.Errorf("upload of %s: %w", u.m.Path, err)
	}
	if uint64(u.off) != c.Size {
		return nil, badRequest("upload of %s: %d bytes received, commit says %d", u.m.Path, u.off, c.Size)
	}
	h, _ := u.h.Sum()
	// A client with CapUnhashed may send a file it did not hash (a new
	// one in a first sync, see the client's lazyHasher): it checks itself
	// that the file did not change while it was read, and records the
	// hash this answer carries.
	if h != c.Hash && !(u.s.unhashed && c.Hash.IsZero()) {
		return nil, &proto.Error{Code: proto.CodeMismatch, Message: fmt.Sprintf("upload of %s: the bytes received hash to %s, not %s", u.m.Path, h, c.Hash)}
	}
	mode := c.Mode & proto.ModeMask
	if u.m.Expect.Kind == proto.KindAbsent {
		mode &^= u.s.opt.Umask
	}
	if err := u.f.Chmod(os.FileMode(mode)); err != nil {
		return nil, err
	}
	mt := time.Unix(0, c.Mtime)
	if err := rootfs.Futimens(u.f, mt, mt); err != nil {
		return nil, err
	}
	// The content on disk before the rename, then the rename before the
	// answer (replace).
	if err := durableFile(u.s.content, u.f); err != nil {
		return nil, err
	}
	dropCached(u.f)
	if err := u.rename(); err != nil {
		return nil, err
	}
	// The hash is known: the next scan need not read the file back. (After
	// the rename, which sets the file's ctime and would void the record.)
	scan.Remember(u.f, u.format.Hasher().Name(), h, scan.DefaultRacyWindow)
	return &proto.Entry{Path: u.m.Path, Kind: proto.KindFile, Size: c.Size, Mtime: c.Mtime, Mode: mode, Hash: h}, nil
}
