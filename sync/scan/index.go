package scan

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"simplecloud/sync/dirty"
)

// An Index remembers, between walks of one tree, the content hash of each
// file with the stat it was valid for: device, inode, size, mtime and
// ctime. A walk given the last walk's index takes a file's hash from it,
// without reading the file's extended attribute, when all five are still
// those of the file; any change of content, size or mtime (also a rename
// onto it, which makes another inode, or a utimensat setting mtime back)
// sets ctime to the current time, and a hash is recorded only when the
// file's ctime and mtime were older than Options.RacyWindow when it was
// taken, so that a later change cannot leave the same ctime behind. The
// extended attribute stays the cache of record; the index only spares a
// system call per file (getxattr costs as much as the lstat here).
//
// The index is a file the caller keeps (the client next to its state, the
// server in the user's .simplecloud): a header naming the hasher, then one
// block per directory with the records of its files in name order, then a
// table of the blocks (directory path, offset, count, length, CRC-32C) and
// a fixed trailer. Blocks are written as the walk finishes a directory and
// read when it enters one, so a walk holds one directory's records per
// level, never the tree; nothing is written until a block differs from
// the last index's (see NewIndex), so an unchanged tree writes none. A
// damaged, foreign or missing index is a miss, never an error: the walk
// then reads the attributes as without one.
type Index struct {
	hasher string
	old    io.ReaderAt
	table  map[string]blockRef
	create func() (io.Writer, error)
	out    *bufio.Writer // nil until the new index differs from the old
	off    int64
	newTab []tableEntry
	seen   int          // blocks that the old index had alike
	buf    []byte       // the block being encoded
	spmu   sync.Mutex   // the walker takes spares, the reporter gives them back
	spare  []spareBlock // blocks finished, for block to reuse
	failed bool         // writing failed: the new index is not to be used
	err    error

	// With an oracle (see oracle.go): the last index's stamp and the time
	// of its last full walk; the directories unchanged since; the root's
	// device; and what the new index records.
	stamp   dirty.Stamp
	full    int64
	clean   map[string]bool
	rootDev uint64
	next    stampRec
	oracle  bool // askOracle had an answer for this walk
}

// indexRec is one file's remembered hash and the stat it is valid for.
type indexRec struct {
	name                string
	size, mtime, ctime  int64
	ino, dev            uint64
	mode, nlink         uint32
	hash                [32]byte
	indexed, remembered bool // in the last index; for the next one
}

// trusted reports whether a walk may report r without a stat when its
// directory has not changed: a file with one link (a write through
// another link reports that link's directory) on the root's file system
// (the one the oracle watches).
func (r *indexRec) trusted(rootDev uint64) bool {
	return r.nlink == 1 && r.dev == rootDev && r.mode&unix.S_IFMT == unix.S_IFREG
}

// matches reports whether st is the stat r was recorded for.
func (r *indexRec) matches(st fileStat) bool {
	return r.size == st.size && r.mtime == st.mtime && r.ctime == st.ctime && r.ino == st.ino && r.dev == st.dev
}

// spareBlock is a block's buffers that the walk no longer uses: its
// records, and the bytes it was read into, of which their names are
// parts.
type spareBlock struct {
	recs []indexRec
	buf  []byte
}

type blockRef struct {
	off    int64
	count  uint32
	length uint32
	crc    uint32
	handle string // the directory's (sync/dirty.Handle), when the walk had an oracle
}

type tableEntry struct {
	dir string
	ref blockRef
}

const (
	indexMagic   = "scix"
	indexVersion = 2
	recFixed     = 5*8 + 4 + 4 + 32 // size, mtime, ctime, ino, dev, mode, nlink, hash
	trailerLen   = 8 + 4 + 4 + len(indexMagic)
	stampLen     = 8 + 8 + 8 + 4 // epoch, gen, last full walk (ns), CRC-32C; before the trailer
	maxBlockLen  = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// NewIndex reads the table of the last index from old (nil or size 0: no
// last index) and writes the new one as a walk goes, to the writer create
// returns. Only an index of the same hasher counts. While every block is
// one the last index has alike, nothing is written and create is not
// called: a walk of an unchanged tree (the common case) writes no index
// at all; at the first difference the blocks so far are copied from the
// last index, and the rest written as they come.
func NewIndex(hasher string, old io.ReaderAt, size int64, create func() (io.Writer, error)) *Index {
	ix := &Index{hasher: hasher, create: create}
	if old != nil && size > 0 {
		tab, st, err := readTable(old, size, hasher)
		if err == nil {
			ix.old, ix.table = old, tab
			ix.stamp, ix.full = st.stamp, st.full
		}
	}
	if ix.old == nil {
		ix.diverge()
	}
	return ix
}

func (ix *Index) header() []byte {
	b := append([]byte(indexMagic), indexVersion, byte(len(ix.hasher)))
	return append(b, ix.hasher...)
}

// diverge starts writing the new index: its header, then the blocks so
// far, each alike in the last index and copied from there.
func (ix *Index) diverge() {
	if ix.out != nil || ix.failed {
		return
	}
	w, err := ix.create()
	if err != nil {
		ix.failed, ix.err = true, err
		return
	}
	ix.out = bufio.NewWriterSize(w, 64<<10)
	ix.off = 0
	ix.write(ix.header())
	for i := range ix.newTab {
		te := &ix.newTab[i]
		b := make([]byte, te.ref.length)
		if _, err := ix.old.ReadAt(b, te.ref.off); err != nil || crc32.Checksum(b, crcTable) != te.ref.crc {
			ix.failed, ix.err = true, fmt.Errorf("copy block %q of the last index: damaged", te.dir)
			return
		}
		te.ref.off = ix.off
		ix.write(b)
	}
}

func (ix *Index) write(b []byte) {
	if ix.failed {
		return
	}
	if _, err := ix.out.Write(b); err != nil {
		ix.failed, ix.err = true, err
	}
	ix.off += int64(len(b))
}

// readTable checks the header and trailer of an index and returns its
// table of blocks.
func readTable(r io.ReaderAt, size int64, hasher string) (map[string]blockRef, stampRec, error) {
	var st stampRec
	hdr := len(indexMagic) + 2 + len(hasher)
	if size < int64(hdr+stampLen+trailerLen) {
		return nil, st, errors.New("index too short")
	}
	b := make([]byte, hdr)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, st, err
	}
	if string(b[:4]) != indexMagic || b[4] != indexVersion || int(b[5]) != len(hasher) || string(b[6:]) != hasher {
		return nil, st, errors.New("index of another version or hasher")
	}
	tr := make([]byte, stampLen+trailerLen)
	if _, err := r.ReadAt(tr, size-int64(len(tr))); err != nil {
		return nil, st, err
	}
	st = decodeStamp(tr[:stampLen])
	tr = tr[stampLen:]
	toff := int64(binary.LittleEndian.Uint64(tr))
	tlen := int64(binary.LittleEndian.Uint32(tr[8:]))
	if string(tr[16:]) != indexMagic || toff < int64(hdr) || toff+tlen != size-int64(stampLen+trailerLen) {
		return nil, st, errors.New("index trailer damaged")
	}
	tb := make([]byte, tlen)
	if _, err := r.ReadAt(tb, toff); err != nil {
		return nil, st, err
	}
	if crc32.Checksum(tb, crcTable) != binary.LittleEndian.Uint32(tr[12:]) {
		return nil, st, errors.New("index table damaged")
	}
	tab, err := decodeTable(tb, toff)
	return tab, st, err
}

func decodeTable(tb []byte, limit int64) (map[string]blockRef, error) {
	tab := map[string]blockRef{}
	for len(tb) > 0 {
		n, k := binary.Uvarint(tb)
		if k <= 0 || uint64(len(tb)-k) < n+20 {
			return nil, errors.New("index table damaged")
		}
		dir := string(tb[k : k+int(n)])
		tb = tb[k+int(n):]
		hn, hk := binary.Uvarint(tb)
		if hk <= 0 || uint64(len(tb)-hk) < hn+20 {
			return nil, errors.New("index table damaged")
		}
		handle := string(tb[hk : hk+int(hn)])
		tb = tb[hk+int(hn):]
		ref := blockRef{
			handle: handle,
			off:    int64(binary.LittleEndian.Uint64(tb)),
			count:  binary.LittleEndian.Uint32(tb[8:]),
			length: binary.LittleEndian.Uint32(tb[12:]),
			crc:    binary.LittleEndian.Uint32(tb[16:]),
		}
		tb = tb[20:]
		if ref.off < 0 || ref.off+int64(ref.length) > limit || ref.length > maxBlockLen {
			return nil, errors.New("index table damaged")
		}
		tab[dir] = ref
	}
	return tab, nil
}

// block returns the last index's records of the files of dir, in name
// order, and the bytes they were read into (their names are parts of
// them), for finishBlock to take back; none when there is no such block
// or it is damaged.
func (ix *Index) block(dir string) ([]indexRec, []byte) {
	ref, ok := ix.table[dir]
	if !ok || ix.old == nil {
		return nil, nil
	}
	var sp spareBlock
	ix.spmu.Lock()
	if k := len(ix.spare); k > 0 {
		// The last spare only: the spares are never more than the
		// directories open in the walk and queued for the reporter.
		sp, ix.spare = ix.spare[k-1], ix.spare[:k-1]
	}
	ix.spmu.Unlock()
	b := sp.buf
	if cap(b) < int(ref.length) {
		b = make([]byte, ref.length)
	}
	b = b[:ref.length]
	if _, err := ix.old.ReadAt(b, ref.off); err != nil || crc32.Checksum(b, crcTable) != ref.crc {
		return nil, nil
	}
	recs := sp.recs[:0]
	if cap(recs) < int(ref.count) {
		recs = make([]indexRec, 0, ref.count)
	}
	// The names are parts of the block's bytes: no copy, and no
	// allocation a name. The bytes are written to again only once
	// finishBlock has taken them back, when the walk keeps none of the
	// records: an Entry's path is the listing's, never an index name.
	all := unsafe.String(unsafe.SliceData(b), len(b))
	for off := 0; off < len(all); {
		rest := b[off:]
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n+recFixed {
			return nil, nil
		}
		r := indexRec{name: all[off+k : off+k+int(n)], indexed: true}
		f := rest[k+int(n):]
		off += k + int(n) + recFixed
		r.size = int64(binary.LittleEndian.Uint64(f))
		r.mtime = int64(binary.LittleEndian.Uint64(f[8:]))
		r.ctime = int64(binary.LittleEndian.Uint64(f[16:]))
		r.ino = binary.LittleEndian.Uint64(f[24:])
		r.dev = binary.LittleEndian.Uint64(f[32:])
		r.mode = binary.LittleEndian.Uint32(f[40:])
		r.nlink = binary.LittleEndian.Uint32(f[44:])
		copy(r.hash[:], f[48:80])
		recs = append(recs, r)
	}
	if len(recs) != int(ref.count) || !slices.IsSortedFunc(recs, func(a, b indexRec) int { return strings.Compare(a.name, b.name) }) {
		return nil, nil
	}
	return recs, b
}

// nextBlock collects a directory's records for the next index. While
// they are the last index's records of it, in order, it holds none of its
// own: an unchanged directory (the common case) copies no record, and its
// block is kept without encoding it again.
type nextBlock struct {
	last    []indexRec // the last index's records of the directory
	buf     []byte     // the bytes last's names are parts of
	n       int        // how many of them the records so far are
	own     []indexRec // the records, once one differs from last's
	differs bool
}

func (b *nextBlock) add(r *indexRec) {
	if !b.differs {
		if b.n < len(b.last) && sameRec(&b.last[b.n], r) {
			b.n++
			return
		}
		b.differs = true
		b.own = append(make([]indexRec, 0, len(b.last)+8), b.last[:b.n]...)
	}
	b.own = append(b.own, *r)
}

// sameRec reports whether a and b record the same (their flags aside).
func sameRec(a, b *indexRec) bool {
	return a.name == b.name && a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime &&
		a.ino == b.ino && a.dev == b.dev && a.mode == b.mode && a.nlink == b.nlink && a.hash == b.hash
}

// finishBlock adds the records b collected of dir to the new index;
// the last index's records of dir are not used after it.
func (ix *Index) finishBlock(dir, handle string, b *nextBlock) {
	if b.last != nil {
		defer func() {
			ix.spmu.Lock()
			ix.spare = append(ix.spare, spareBlock{recs: b.last, buf: b.buf})
			ix.spmu.Unlock()
		}()
	}
	switch {
	case b.differs:
		ix.writeBlock(dir, handle, b.own)
	case b.n > 0 && b.n == len(b.last) && ix.out == nil && !ix.failed && ix.table[dir].handle == handle:
		// The last index's block, checked when read: alike.
		ix.seen++
		ix.newTab = append(ix.newTab, tableEntry{dir: dir, ref: ix.table[dir]})
	default:
		ix.writeBlock(dir, handle, b.last[:b.n])
	}
}

// writeBlock adds dir's records (in name order) to the new index.
func (ix *Index) writeBlock(dir, handle string, recs []indexRec) {
	if len(recs) == 0 || ix.failed {
		return
	}
	b := ix.buf[:0]
	for i := range recs {
		r := &recs[i]
		b = binary.AppendUvarint(b, uint64(len(r.name)))
		b = append(b, r.name...)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.size))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.mtime))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.ctime))
		b = binary.LittleEndian.AppendUint64(b, r.ino)
		b = binary.LittleEndian.AppendUint64(b, r.dev)
		b = binary.LittleEndian.AppendUint32(b, r.mode)
		b = binary.LittleEndian.AppendUint32(b, r.nlink)
		b = append(b, r.hash[:]...)
	}
	if len(b) > maxBlockLen {
		return
	}
	ix.buf = b
	ref := blockRef{count: uint32(len(recs)), length: uint32(len(b)), crc: crc32.Checksum(b, crcTable), handle: handle}
	old, ok := ix.table[dir]
	if ok && old.count == ref.count && old.length == ref.length && old.crc == ref.crc && old.handle == ref.handle {
		ix.seen++
		if ix.out == nil {
			// Alike: the last index's copy stands for it (diverge
			// copies it should a later block differ).
			ix.newTab = append(ix.newTab, tableEntry{dir: dir, ref: old})
			return
		}
	} else {
		ix.diverge()
	}
	ref.off = ix.off
	ix.write(b)
	ix.newTab = append(ix.newTab, tableEntry{dir: dir, ref: ref})
}

// Finish writes the table and trailer of the new index. changed reports
// whether it differs from the last one (else nothing was written and the
// caller keeps that); err is a write error: the new index is then not to
// be used.
func (ix *Index) Finish() (changed bool, err error) {
	if ix.old != nil && ix.seen == len(ix.table) && len(ix.newTab) == len(ix.table) && ix.out == nil && !ix.failed {
		return false, nil
	}
	ix.diverge()
	var tb []byte
	for _, te := range ix.newTab {
		tb = binary.AppendUvarint(tb, uint64(len(te.dir)))
		tb = append(tb, te.dir...)
		tb = binary.AppendUvarint(tb, uint64(len(te.ref.handle)))
		tb = append(tb, te.ref.handle...)
		tb = binary.LittleEndian.AppendUint64(tb, uint64(te.ref.off))
		tb = binary.LittleEndian.AppendUint32(tb, te.ref.count)
		tb = binary.LittleEndian.AppendUint32(tb, te.ref.length)
		tb = binary.LittleEndian.AppendUint32(tb, te.ref.crc)
	}
	toff := ix.off
	ix.write(tb)
	ix.write(ix.next.encode())
	tr := binary.LittleEndian.AppendUint64(nil, uint64(toff))
	tr = binary.LittleEndian.AppendUint32(tr, uint32(len(tb)))
	tr = binary.LittleEndian.AppendUint32(tr, crc32.Checksum(tb, crcTable))
	ix.write(append(tr, indexMagic...))
	if !ix.failed {
		if err := ix.out.Flush(); err != nil {
			ix.failed, ix.err = true, err
		}
	}
	if ix.failed {
		return false, fmt.Errorf("write the scan index: %w", ix.err)
	}
	return true, nil
}
