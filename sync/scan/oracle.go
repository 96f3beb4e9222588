package scan

import (
	"encoding/binary"
	"hash/crc32"
	"time"

	"simplecloud/sync/dirty"
	"simplecloud/sync/rootfs"
)

// FullWalkEvery is how long an index's directories may be trusted on the
// oracle's word alone: after it, a walk stats every file again. A write
// through a shared mmap that is never closed (nor msync'ed then closed)
// raises no event; the full walk sees its mtime. Syncthing rescans hourly
// beside its watcher for the same reason.
const FullWalkEvery = time.Hour

// stampRec is what an index keeps of the oracle: the stamp taken before
// the walk that wrote it, and when the last full walk (no file reused) was.
type stampRec struct {
	stamp dirty.Stamp
	full  int64 // ns since the epoch
}

func (r stampRec) encode() []byte {
	b := binary.LittleEndian.AppendUint64(nil, r.stamp.Epoch)
	b = binary.LittleEndian.AppendUint64(b, r.stamp.Gen)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.full))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// decodeStamp returns the stamp record in b (stampLen bytes), zero (no
// stamp: a full walk) when damaged.
func decodeStamp(b []byte) stampRec {
	if crc32.Checksum(b[:stampLen-4], crcTable) != binary.LittleEndian.Uint32(b[stampLen-4:]) {
		return stampRec{}
	}
	return stampRec{
		stamp: dirty.Stamp{Epoch: binary.LittleEndian.Uint64(b), Gen: binary.LittleEndian.Uint64(b[8:])},
		full:  int64(binary.LittleEndian.Uint64(b[16:])),
	}
}

// askOracle asks the oracle, before the walk begins, which of the last
// index's directories changed since its stamp, and the stamp the new index
// will keep. Taken before the walk, that stamp is older than every stat
// of the walk: whatever changes after it, also while the walk goes on,
// is a change since it for the next walk. Without an answer the walk
// trusts no directory and the new index keeps no stamp.
func (s *Scanner) askOracle(ix *Index, start time.Time) {
	o := s.opt.Oracle
	if o == nil {
		return
	}
	st, err := s.root.Lstat("")
	if err != nil {
		return
	}
	now := start.UnixNano()
	var dirs []string
	var handles [][]byte
	if ix.stamp.Epoch != 0 && ix.full <= now && now-ix.full < int64(FullWalkEvery) {
		for dir, ref := range ix.table {
			if ref.handle != "" {
				dirs = append(dirs, dir)
				handles = append(handles, []byte(ref.handle))
			}
		}
	}
	stamp, changed, err := o.Changed(ix.stamp, handles)
	if err != nil || len(changed) != len(handles) {
		s.log.Debug("no dirty directory oracle for this walk", "err", err)
		return
	}
	ix.clean = make(map[string]bool, len(dirs))
	for i, c := range changed {
		if !c {
			ix.clean[dirs[i]] = true
		}
	}
	ix.rootDev = st.Dev
	ix.next = stampRec{stamp: stamp, full: ix.full}
	ix.oracle = true
}

// dirTrust returns the handle of the directory d at dir for the new index
// and whether its files may be reported from the last index without a
// stat: the same directory (handle) as the last index's, on the root's
// file system, unchanged since (askOracle). The directory itself is
// stat'ed, as its subdirectories are: each is trusted on its own.
func (s *Scanner) dirTrust(d *rootfs.Dir, dir string) (string, bool) {
	st, err := d.Stat()
	if err != nil || st.Dev != s.ix.rootDev {
		return "", false
	}
	h, err := dirty.Handle(d.Fd())
	if err != nil {
		return "", false
	}
	return string(h), s.ix.clean[dir] && s.ix.table[dir].handle == string(h)
}
