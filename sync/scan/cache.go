package scan

import (
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// XattrName is the extended attribute that caches a file's content hash.
// Its name is short and its record recordLen bytes so that both fit in the
// room ext4 keeps for attributes inside a 256-byte inode (96 bytes: a
// 7-byte name and a 64-byte value fill it). An attribute that does not
// fit takes a 4 KiB block of its own, allocated and written for every
// file: version 1's 98-byte record, under oldXattrName, did, and setting
// it cost both ends of a first sync of 10,000 files about 0.3 CPU-s each.
const XattrName = "user.sc.hash"

// oldXattrName held the version 1 records, which are no longer read; a
// record stored on a file that may have one removes it (see dropOld).
const oldXattrName = "user.simplecloud.hash"

// recordVersion is the first byte of every record; a record of another
// version is a miss.
const recordVersion = 2

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
	tag     [3]byte // of the hasher's name (HasherTag)
	size    int64
	mtime   int64 // ns
	ino     uint64
	written int64 // ns, a multiple of a millisecond: the time read just before the attribute was set
	hash    [32]byte
}

// recordLen is the length of an encoded record.
const recordLen = 64

// maxRecordSize is the largest file size a record holds (48 bits).
const maxRecordSize = 1<<48 - 1

// HasherTag is what a record keeps of its hasher's name: 3 bytes of the
// name's FNV-1a hash. The hashers in use must have distinct tags, so that
// a record of one is a miss for another (sync/syncd's tests check the
// plain and sealed ones).
func HasherTag(name string) [3]byte {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return [3]byte{byte(h), byte(h >> 8), byte(h >> 16)}
}

// writtenNow returns the current time as a record's write time: whole
// milliseconds (what a record holds), rounded down, so that the checks of
// the ctime against it are made the same at store and at lookup, and only
// stricter for the rounding.
func writtenNow() int64 {
	now := time.Now().UnixNano()
	return now - now%int64(time.Millisecond)
}

// encode lays the record out in recordLen bytes: version, hasher tag,
// mtime and inode (8 bytes each), size and write time in ms (6 bytes
// each), all little endian, then the hash. ok is false for a record that
// does not fit (a size or write time beyond 48 bits).
func (r record) encode() (b []byte, ok bool) {
	ms := r.written / int64(time.Millisecond)
	if r.size < 0 || r.size > maxRecordSize || r.written < 0 || ms > maxRecordSize {
		return nil, false
	}
	b = make([]byte, recordLen)
	b[0] = recordVersion
	copy(b[1:4], r.tag[:])
	binary.LittleEndian.PutUint64(b[4:], uint64(r.mtime))
	binary.LittleEndian.PutUint64(b[12:], r.ino)
	put48(b[20:], uint64(r.size))
	put48(b[26:], uint64(ms))
	copy(b[32:], r.hash[:])
	return b, true
}

func put48(b []byte, v uint64) {
	for i := range 6 {
		b[i] = byte(v >> (8 * i))
	}
}

func get48(b []byte) uint64 {
	var v uint64
	for i := range 6 {
		v |= uint64(b[i]) << (8 * i)
	}
	return v
}

var errRecord = errors.New("not a hash record of this version")

// decodeRecord parses what encode wrote; anything else is errRecord.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) != recordLen || b[0] != recordVersion {
		return r, errRecord
	}
	copy(r.tag[:], b[1:4])
	r.mtime = int64(binary.LittleEndian.Uint64(b[4:]))
	r.ino = binary.LittleEndian.Uint64(b[12:])
	r.size = int64(get48(b[20:]))
	r.written = int64(get48(b[26:])) * int64(time.Millisecond)
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
	return r.tag == HasherTag(hasher) && r.size == st.size && r.mtime == st.mtime && r.ino == st.ino &&
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
