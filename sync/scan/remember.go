package scan

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Remember caches h as the hash (by hasher) of the open file f, which the
// caller has just written itself from bytes it hashed as it wrote them: a
// receiver committing an upload, whose file nobody else was given. It
// saves the next scan from reading the file back. The ctime of a file just
// written is always racy (see the package doc), so the record is kept
// only where mtime, which the caller has set from the source, is older
// than window: a later write to the file would then set mtime to the
// current time, which the record does not match. It reports whether the
// record was stored; a file system without user attributes stores none.
func Remember(f *os.File, hasher string, h [32]byte, window time.Duration) bool {
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	before := statOf(&st)
	if before.mtime >= time.Now().UnixNano()-int64(window) {
		return false
	}
	_, ok, _ := store(fd, hasher, h, before, false) // a file of the caller's own: no old record
	return ok
}

// Record caches h as the hash (by hasher) of the open file f, which the
// caller read whole after taking its fstat before at start (ns), and had
// hashed elsewhere: a client whose server hashed the bytes it sent. The
// record is kept only as the scanner keeps its own (see hash): f must
// still show before's size, mtime, ctime and inode, so that nothing
// changed it from before the read to now, and before must not be racy
// (window, as Options.RacyWindow). It reports whether the record was
// stored.
func Record(f *os.File, hasher string, h [32]byte, before *unix.Stat_t, start int64, window time.Duration) bool {
	fd := int(f.Fd())
	b := statOf(before)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	if now := statOf(&st); !sameContent(b, now) || now.ino != b.ino || now.dev != b.dev || racy(b, start, window, false) {
		return false
	}
	_, ok, _ := store(fd, hasher, h, b, true)
	return ok
}

// store writes the record of h for the file fd, whose stat before is what
// h was taken of, and takes it back if the file changed meanwhile
// (keptAfterWrite). A file that may carry a version 1 record (dropOld:
// any but one the caller has just made) loses it first. It reports
// whether the record stands, with the stat after the write, and the
// attribute write's error.
func store(fd int, hasher string, h [32]byte, before fileStat, dropOld bool) (after unix.Stat_t, ok bool, err error) {
	if dropOld {
		// ENODATA nearly always, which costs about what a read that finds
		// nothing would (2-3 us here).
		unix.Fremovexattr(fd, oldXattrName)
	}
	r := record{tag: HasherTag(hasher), size: before.size, mtime: before.mtime, ino: before.ino, hash: h, written: writtenNow()}
	b, fits := r.encode()
	if !fits {
		return after, false, nil
	}
	if err := unix.Fsetxattr(fd, XattrName, b, 0); err != nil {
		return after, false, err
	}
	if err := unix.Fstat(fd, &after); err != nil || !keptAfterWrite(before, statOf(&after), r.written) {
		unix.Fremovexattr(fd, XattrName)
		return after, false, nil
	}
	return after, true, nil
}
