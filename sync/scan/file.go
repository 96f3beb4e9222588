package scan

import (
	"errors"
	"fmt"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// entry makes the Entry for name in d (at path p), whose getdents type is
// typ. ok is false when there is nothing to report: gone since the listing,
// a type that is not reported, or a state that is unknown (then in
// Unscanned).
func (w *worker) entry(d *rootfs.Dir, name, p string, typ rootfs.DirentType) (Entry, bool) {
	w.lostErr, w.rec = nil, indexRec{}
	defer func() { w.known = nil }()
	switch typ {
	case unix.DT_REG:
		if k := w.known; w.trust && k != nil && k.trusted(w.s.ix.rootDev) {
			return w.reuse(p, k)
		}
		return w.file(d, name, p)
	case unix.DT_DIR, unix.DT_LNK:
	default:
		w.sum.Other++
		return Entry{}, false
	}
	var st unix.Stat_t
	if err := d.Lstat(name, &st); err != nil {
		return w.lost(p, err)
	}
	return w.fromStat(d, name, p, &st)
}

// reuse makes the entry of the file at p from its index record k, without
// a stat: its directory has not changed since the index was written (see
// Options.Oracle).
func (w *worker) reuse(p string, k *indexRec) (Entry, bool) {
	w.sum.Files++
	w.sum.IndexHits++
	w.sum.Reused++
	w.rec = *k
	w.rec.remembered = true
	return Entry{Path: p, Kind: File, Size: k.size, Mtime: k.mtime, Mode: k.mode & 0o777,
		Special: k.mode & 0o7000, Ino: k.ino, Hash: k.hash}, true
}

// lost handles an entry that could not be looked at: gone (nothing to
// report) or unknown (to be listed in Unscanned).
func (w *worker) lost(p string, err error) (Entry, bool) {
	if !errors.Is(err, unix.ENOENT) {
		w.unscanned(p, err)
	}
	return Entry{}, false
}

// fromStat makes the entry of a directory, symbolic link or regular file
// from its stat buffer; other types are counted.
func (w *worker) fromStat(d *rootfs.Dir, name, p string, st *unix.Stat_t) (Entry, bool) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return w.regular(d, name, p, st)
	case unix.S_IFDIR:
		w.sum.Dirs++
		return meta(p, Dir, st), true
	case unix.S_IFLNK:
		target, err := d.Readlink(name)
		if err != nil {
			return w.lost(p, err)
		}
		w.sum.Symlinks++
		e := meta(p, Symlink, st)
		e.Target = target
		return e, true
	}
	w.sum.Other++
	return Entry{}, false
}

func meta(p string, k Kind, st *unix.Stat_t) Entry {
	return Entry{
		Path: p, Kind: k, Size: st.Size, Mtime: st.Mtim.Nano(),
		Mode: st.Mode & 0o777, Special: st.Mode & 0o7000, Ino: st.Ino,
	}
}

// file makes the entry of name, listed as a regular file.
func (w *worker) file(d *rootfs.Dir, name, p string) (Entry, bool) {
	var st unix.Stat_t
	if err := d.Lstat(name, &st); err != nil {
		return w.lost(p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return w.fromStat(d, name, p, &st)
	}
	return w.regular(d, name, p, &st)
}

// regular makes the entry of the regular file name, whose lstat is st,
// with its content hash: the cached one if valid (a stat and an attribute
// read, without opening the file), else read and hashed.
func (w *worker) regular(d *rootfs.Dir, name, p string, st *unix.Stat_t) (Entry, bool) {
	w.sum.Files++
	e := meta(p, File, st)
	if w.s.opt.Hasher == nil {
		return e, true
	}
	hasher := w.s.opt.Hasher.Name()
	before := statOf(st)
	if k := w.known; k != nil && !w.fresh && k.matches(before) {
		e.Hash = k.hash
		w.sum.IndexHits++
		w.rec = *k
		w.rec.remembered = true
		return e, true
	}
	cache := !w.s.opt.NoCache && !w.fresh && w.s.cacheOn(before.dev)
	ours := false // the last ctime change was the record's own write
	if cache {
		now := time.Now().UnixNano()
		r, ok := w.load(d, name, before.dev)
		if ok && r.valid(hasher, before, now) {
			e.Hash = r.hash
			w.sum.CacheHits++
			w.remember(name, before, r.hash, now, true)
			return e, true
		}
		ours = ok && r.ino == before.ino && r.size == before.size && r.mtime == before.mtime &&
			before.ctime <= r.written+int64(ctimeSlack)
	}
	if df, ok := w.s.opt.Hasher.(Deferrer); ok {
		if err := df.Defer(); err != nil {
			e.Err = fmt.Errorf("hash %s: %w", e.Path, err)
			w.sum.Unreadable++
			return e, true
		}
	}
	f, err := d.Open(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
			w.sum.Files--
			w.unscanned(p, errChanged) // gone or replaced since the lstat
			return Entry{}, false
		}
		w.sum.Unreadable++
		e.Err = err
		return e, true
	}
	defer f.Close()
	// The file opened may have replaced the one stat'ed (an editor's
	// save by rename): the entry is then the new file.
	if err := unix.Fstat(int(f.Fd()), st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		w.sum.Files--
		w.unscanned(p, errChanged)
		return Entry{}, false
	}
	e = meta(p, File, st)
	w.hash(f, st, &e, cache && w.s.cacheOn(st.Dev), ours && st.Ino == before.ino)
	return e, true
}

// hash fills e's hash by reading f, whose stat before reading is st, and
// caches it if cache (ours: see racy). A file that changed while it was
// read is Unstable and nothing is cached.
func (w *worker) hash(f *os.File, st *unix.Stat_t, e *Entry, cache, ours bool) {
	before := statOf(st)
	start := time.Now().UnixNano()
	h, err := w.s.opt.Hasher.Hash(f)
	if err != nil {
		e.Err = fmt.Errorf("hash %s: %w", e.Path, err)
		w.sum.Unreadable++
		return
	}
	var st2 unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st2); err != nil {
		e.Err = fmt.Errorf("stat %s after hashing: %w", e.Path, err)
		w.sum.Unreadable++
		return
	}
	w.sum.Hashed++
	w.sum.HashedBytes += st.Size
	after := statOf(&st2)
	if !sameContent(before, after) {
		e.Unstable = true
		w.sum.Unstable++
		return
	}
	e.Hash = h
	w.remember(path.Base(e.Path), before, h, start, false)
	if cache && !racy(before, start, w.s.opt.RacyWindow, ours) {
		w.store(f, after, h)
	}
}

// remember has the next index record hash for the file name, whose stat
// st was taken after now (ns), if st's ctime and mtime were old enough
// then that any later change will show a different ctime. ctimeOurs says
// the ctime is the hash attribute's own write, which the cache's record
// accepted (see the package doc); store updates the ctime it sets.
func (w *worker) remember(name string, st fileStat, hash [32]byte, now int64, ctimeOurs bool) {
	if w.s.ix == nil || racy(st, now, w.s.opt.RacyWindow, ctimeOurs) {
		return
	}
	w.rec = indexRec{name: name, size: st.size, mtime: st.mtime, ctime: st.ctime, ino: st.ino, dev: st.dev,
		mode: st.mode, nlink: st.nlink, hash: hash, remembered: true}
}

// load reads the cached record of name in d, on the file system dev; ok
// is false for none or a foreign one.
func (w *worker) load(d *rootfs.Dir, name string, dev uint64) (record, bool) {
	w.xattrs++
	n, err := d.Getxattr(name, XattrName, w.xbuf)
	if err != nil {
		if cacheOff(err) {
			w.s.cacheOff(dev, err)
		}
		return record{}, false
	}
	r, err := decodeRecord(w.xbuf[:n])
	return r, err == nil
}

// store caches hash for f, whose stat is st (see the package function
// store), and keeps the ctime its write set for the index.
func (w *worker) store(f *os.File, st fileStat, hash [32]byte) {
	w.xattrs++
	after, ok, err := store(int(f.Fd()), w.s.opt.Hasher.Name(), hash, st, true)
	if err != nil && cacheOff(err) {
		w.s.cacheOff(st.dev, err)
	}
	if !ok {
		if err == nil {
			// Taken back (the file changed meanwhile) or too large to
			// record: the index must not keep the hash either.
			w.rec.remembered = false
		}
		return
	}
	w.rec.ctime = after.Ctim.Nano() // the attribute's own, which the next walk sees
	w.sum.CacheStored++
}

// cacheOn reports whether the cache is on for the file system dev.
func (s *Scanner) cacheOn(dev uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cacheNo[dev] == ""
}

// cacheOff turns the cache off for the file system dev, for the life of
// the Scanner.
func (s *Scanner) cacheOff(dev uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cacheNo[dev] != "" {
		return
	}
	s.cacheNo[dev] = err.Error()
	s.log.Info("hash cache off on this file system", "dev", fmt.Sprintf("%d:%d", unix.Major(dev), unix.Minor(dev)), "err", err)
}
