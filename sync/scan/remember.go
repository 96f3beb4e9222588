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
	now := time.Now().UnixNano()
	if before.mtime >= now-int64(window) {
		return false
	}
	return store(fd, hasher, h, before, now)
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
	return store(fd, hasher, h, b, time.Now().UnixNano())
}

// store writes the record of h for the file fd, whose stat before is what
// h was taken of, at written (ns), and takes it back if the file changed
// meanwhile (keptAfterWrite). It reports whether the record stands.
func store(fd int, hasher string, h [32]byte, before fileStat, written int64) bool {
	r := record{hasher: hasher, size: before.size, mtime: before.mtime, ino: before.ino, hash: h, written: written}
	if err := unix.Fsetxattr(fd, XattrName, r.encode(), 0); err != nil {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || !keptAfterWrite(before, statOf(&st), written) {
		unix.Fremovexattr(fd, XattrName)
		return false
	}
	return true
}
