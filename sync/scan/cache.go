package scan

import (
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// XattrName is the extended attribute that caches a file's content hash.
const XattrName = "user.simplecloud.hash"

// recordVersion is the first byte of every record; a record of another
// version is a miss.
const recordVersion = 1

// ctimeSlack is how much later than the record's write time the file's
// ctime may be and the record still hold: the ctime that writing the
// attribute itself sets is taken at most this long after the write time
// was read (checked when storing). It is also the window in which a change
// can go unseen; see the package doc.
const ctimeSlack = 10 * time.Millisecond

// fileStat is what the cache compares, from one stat buffer.
type fileStat struct {
	size, mtime, ctime int64 // ns since the epoch for the times
	ino, dev           uint64
	mode, nlink        uint32 // for the index (see Index)
}

func statOf(st *unix.Stat_t) fileStat {
	return fileStat{
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		ino:   st.Ino,
		dev:   st.Dev,
		mode:  st.Mode,
		nlink: uint32(min(st.Nlink, 1<<32-1)),
	}
}

// sameContent reports whether two stats of one open file show no change
// in between: size, mtime and ctime all equal.
func sameContent(a, b fileStat) bool {
	return a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
}

// record is a cached hash and what it was computed from.
type record struct {
	hasher  string
	size    int64
	mtime   int64 // ns
	ino     uint64
	written int64 // ns: the time read just before the attribute was set
	hash    [32]byte
}

// encode lays the record out as: version, hasher name length, name, then
// size, mtime, inode, written (8 bytes each, little endian) and the hash.
func (r record) encode() []byte {
	b := make([]byte, 0, 2+len(r.hasher)+32+32)
	b = append(b, recordVersion, byte(len(r.hasher)))
	b = append(b, r.hasher...)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.size))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.mtime))
	b = binary.LittleEndian.AppendUint64(b, r.ino)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.written))
	return append(b, r.hash[:]...)
}

var errRecord = errors.New("not a hash record of this version")

// decodeRecord parses what encode wrote; anything else is errRecord.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < 2 || b[0] != recordVersion {
		return r, errRecord
	}
	n := int(b[1])
	if len(b) != 2+n+32+32 {
		return r, errRecord
	}
	r.hasher = string(b[2 : 2+n])
	b = b[2+n:]
	r.size = int64(binary.LittleEndian.Uint64(b))
	r.mtime = int64(binary.LittleEndian.Uint64(b[8:]))
	r.ino = binary.LittleEndian.Uint64(b[16:])
	r.written = int64(binary.LittleEndian.Uint64(b[24:]))
	copy(r.hash[:], b[32:])
	return r, nil
}

// valid reports whether r may stand for the content of a file that has st
// now (at now, ns), hashed by hasher: same algorithm, size, mtime and
// inode, no change of the inode since the record was written (every write,
// truncate or utimes sets ctime to the current time, later than written
// plus the slack the write itself took), and a write time not in the future
// (a clock set back would let later changes carry older ctimes).
func (r record) valid(hasher string, st fileStat, now int64) bool {
	slack := int64(ctimeSlack)
	return r.hasher == hasher && r.size == st.size && r.mtime == st.mtime && r.ino == st.ino &&
		st.ctime <= r.written+slack && r.written <= now+slack
}

// racy reports whether a file whose stat was st when hashing started at
// start (ns) changed too recently for its hash to be cached: a write in the
// same clock tick as the last one (or the same second, on file systems
// that keep whole seconds) would leave mtime and ctime as they were, so the
// check after reading could not see it. Git calls such index entries racy.
// ctimeOurs says the last ctime change was the write of a record that
// matches the file's size, mtime and inode (as when only the hasher
// changed): then only mtime counts, for that write changed no content.
func racy(st fileStat, start int64, window time.Duration, ctimeOurs bool) bool {
	edge := start - int64(window)
	return st.mtime >= edge || (!ctimeOurs && st.ctime >= edge)
}

// keptAfterWrite reports whether a record written at written (ns) still
// describes the file after setting the attribute, whose stat is now after
// (and was before just before): nothing but the ctime changed, and the
// ctime the attribute write set is within the slack valid allows.
func keptAfterWrite(before, after fileStat, written int64) bool {
	return before.size == after.size && before.mtime == after.mtime && before.ino == after.ino &&
		after.ctime <= written+int64(ctimeSlack)
}

// cacheOff reports whether err from reading or writing the attribute means
// the whole file system will refuse it (no user xattrs, read-only, full),
// rather than this one file (EACCES, EPERM: permissions, immutable).
func cacheOff(err error) bool {
	switch {
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EROFS),
		errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT), errors.Is(err, unix.E2BIG):
		return true
	}
	return false
}
