package scan

import (
	"slices"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// chunk is how many items of a directory the workers make entries of
// together before they are reported.
const chunk = 128

// result is the entry made for one item.
type result struct {
	e     Entry
	ok    bool
	lost  *PathError
	known *indexRec // the index's record of the item, for its worker
	rec   indexRec  // what the next index records, when rec.remembered
}

// walkDir walks the contents of d, the directory at dir ("" for the
// root), and closes d once the reporter is done with it. Each chunk of
// its items is made at once: the directories, links and other entries by
// the walker itself (a directory's subtree is walked right after the
// chunk, in its place), the files by the pool (see pool), and sent to the
// reporter, which waits for them; the walker goes on meanwhile. It
// returns errStopped once the reporter has stopped.
func (s *Scanner) walkDir(d *rootfs.Dir, dir string) error {
	end := &dirEnd{dir: dir, d: d}
	defer s.rep.finish(end)
	prefix := dir
	if dir != "" {
		prefix += "/"
	}
	items, err := s.list(d, prefix, s.rep.items())
	if err != nil {
		s.unscanned(dir, err)
		return nil
	}
	end.items = items    // the pool reads them until the directory's end
	var known []indexRec // the last index's records of dir
	trust := false       // the files' records may stand for their stat
	if s.ix != nil {
		if s.ix.oracle {
			end.handle, trust = s.dirTrust(d, dir)
		}
		end.next = &nextBlock{}
		known, end.next.buf = s.ix.block(dir)
		end.next.last = known
	}
	for lo := 0; lo < len(items); lo += chunk {
		if s.rep.stopped() {
			return errStopped
		}
		part := items[lo:min(lo+chunk, len(items))]
		res := s.rep.buffer(len(part))
		known = hint(known, part, res)
		done := s.make(d, part, res, trust)
		from := 0 // the first result not sent yet
		for i := range part {
			it := &part[i]
			if it.sub {
				s.rep.send(batch{res: res, from: from, to: i, next: end.next, done: done})
				from = i + 1
				if it.skip {
					continue
				}
				if err := s.walkSub(d, *it, it.path); err != nil {
					// The rest unreported, the buffer not given back;
					// but d stays open until the pool is done with it.
					s.rep.send(batch{res: res, done: done})
					return err
				}
				continue
			}
			if it.typ == unix.DT_DIR {
				// The subtree item comes later; tell it what was made.
				r := &res[i]
				rest := items[lo+i:]
				j, found := slices.BinarySearchFunc(rest, item{name: it.name, sub: true}, compareItems)
				if found {
					rest[j].skip, rest[j].ino = !r.ok || r.e.Kind != Dir, r.e.Ino
				}
			}
		}
		s.rep.send(batch{res: res, from: from, to: len(part), next: end.next, done: done, release: true})
	}
	return nil
}

// hint gives each file item of part its record in known (the rest of a
// directory's records from the last index, in name order) and returns the
// records after the part's last file. Non-subtree items come in name
// order, so one pass merges them.
func hint(known []indexRec, part []item, res []result) []indexRec {
	for i := range part {
		it := &part[i]
		if it.sub || len(known) == 0 {
			continue
		}
		for len(known) > 0 && known[0].name < it.name {
			known = known[1:]
		}
		if len(known) > 0 && known[0].name == it.name {
			res[i].known = &known[0]
			known = known[1:]
		}
	}
	return known
}

// make fills res with the entries of the items in part (subtree items
// left out): those the walker needs before it goes on (directories, links,
// other types) at once; the files too when they are few or trusted (see
// dirTrust: no system call to share), else the pool makes them, and done
// is closed when it has.
func (s *Scanner) make(d *rootfs.Dir, part []item, res []result, trust bool) (done chan struct{}) {
	w := s.workers[0]
	w.trust = trust
	files := 0
	for i := range part {
		it := &part[i]
		if it.sub {
			continue
		}
		if it.typ == unix.DT_REG && !trust {
			files++
			continue
		}
		w.make(d, it, &res[i])
	}
	if files == 0 {
		return nil
	}
	if files < 8 || s.pool == nil {
		for i := range part {
			if it := &part[i]; !it.sub && it.typ == unix.DT_REG {
				w.make(d, it, &res[i])
			}
		}
		return nil
	}
	return s.pool.submit(d, part, res)
}

// make makes the entry of the item it of d into r.
func (w *worker) make(d *rootfs.Dir, it *item, r *result) {
	w.known = r.known
	r.e, r.ok = w.entry(d, it.name, it.path, it.typ)
	r.lost, r.rec = w.lostErr, w.rec
}

// walkSub enters the subdirectory it of d (reported as a directory with
// inode it.ino) and walks it; a directory that is no longer the one
// reported, or no longer a directory, is Unscanned.
func (s *Scanner) walkSub(d *rootfs.Dir, it item, p string) error {
	sd, err := d.OpenDir(it.name)
	if err != nil {
		s.unscanned(p, err)
		return nil
	}
	st, err := sd.Stat()
	if err != nil {
		sd.Close()
		s.unscanned(p, err)
		return nil
	}
	if st.Ino != it.ino {
		sd.Close()
		s.unscanned(p, errChanged)
		return nil
	}
	return s.walkDir(sd, p) // which closes sd
}
