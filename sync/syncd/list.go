package syncd

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
	"simplecloud/sync/watch"
)

// Limits of one EntryBatch frame, as proto.Batches cuts them.
const (
	batchEntries = 1024
	batchBytes   = 256 << 10
)

// batcher sends entries in EntryBatch frames as they fill.
type batcher struct {
	s       *session
	id      uint32
	entries []proto.Entry
	same    []uint32 // client directory numbers (digest listing)
	bytes   int
}

func (b *batcher) add(e proto.Entry) error {
	b.entries = append(b.entries, e)
	b.bytes += len(e.Path) + len(e.Target) + 64
	if len(b.entries) >= batchEntries || b.bytes >= batchBytes {
		return b.flush(false)
	}
	return nil
}

// addSame answers the client's directory number i as unchanged.
func (b *batcher) addSame(i int) error {
	b.same = append(b.same, uint32(i))
	if len(b.same) >= batchEntries {
		return b.flush(false)
	}
	return nil
}

func (b *batcher) flush(final bool) error {
	err := b.s.conn.Send(b.id, final, &proto.EntryBatch{Entries: b.entries, Same: b.same})
	b.entries, b.same, b.bytes = b.entries[:0], b.same[:0], 0
	return err
}

// list sends the subtree at m.Path: its own entry first, then everything
// below, depth-first, names in byte order; with digests, each directory's
// entries when the walk leaves it, unless the client has them (digest.go).
func (s *session) list(r *request, m *proto.List) error {
	var dl *digestList
	b := &batcher{s: s, id: r.id}
	if m.Digests {
		if r.in == nil {
			return badRequest("a list with digests was its request's final frame")
		}
		sums, want, err := s.recvDigests(r)
		if err != nil {
			return err
		}
		dl = newDigestList(b, m.Path, sums, want)
	}
	if err := checkPath(m.Path, true); err != nil {
		return err
	}
	format, err := s.checkFormat(m.Path, m.Format)
	if err != nil {
		return err
	}
	sc, put := s.scanner(format, m.Hashes != proto.HashesNone)
	defer put()
	if m.Path == "" {
		root, _, err := s.current("", false)
		if err != nil {
			return err
		}
		if err := b.add(root); err != nil {
			return err
		}
	}
	var ix scan.IndexStore
	if m.Hashes != proto.HashesNone {
		ix = s.indexStore(m.Path)
	}
	sum, err := sc.WalkStored(m.Path, ix, func(e *scan.Entry) error {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if e.Kind == scan.File && !e.HasHash() && m.Hashes != proto.HashesNone {
			// Being written or unreadable: listed without a hash, so
			// the client neither trusts nor deletes it.
			s.log.Debug("listed without hash", "path", e.Path, "unstable", e.Unstable, "err", e.Err)
		}
		if dl != nil && e.Path != m.Path {
			return dl.add(toEntry(e))
		}
		return b.add(toEntry(e))
	})
	if errors.Is(err, unix.ENOENT) && m.Path != "" {
		return &proto.Error{Code: proto.CodeNotFound, Message: m.Path + ": no such file or directory"}
	}
	if err == nil && dl != nil {
		err = dl.finish()
	}
	if err != nil {
		return err
	}
	s.log.Debug("listed", "path", m.Path, "files", sum.Files, "dirs", sum.Dirs, "hashed", sum.Hashed,
		"index_hits", sum.IndexHits, "reused", sum.Reused, "cache_hits", sum.CacheHits)
	for _, u := range sum.Unscanned {
		s.log.Info("directory not listed", "path", u.Path, "err", u.Err)
	}
	s.removeStaleTemps()
	return b.flush(true)
}

// stat answers the entries of some paths, KindAbsent for missing ones.
func (s *session) stat(r *request, m *proto.Stat) error {
	if len(m.Paths) > proto.MaxBatch {
		return badRequest("stat of %d paths, at most %d", len(m.Paths), proto.MaxBatch)
	}
	out := make([]proto.Entry, 0, len(m.Paths))
	memo := newStatMemo()
	defer memo.close()
	for _, p := range m.Paths {
		if err := checkPath(p, true); err != nil {
			return err
		}
		e, _, err := s.currentIn(p, false, memo)
		if err != nil {
			return err
		}
		e.Path = p
		if m.Hashes == proto.HashesNone {
			e.Hash = proto.Hash{}
		}
		out = append(out, e)
	}
	return s.conn.Send(r.id, true, &proto.EntryBatch{Entries: out})
}

// subscribe is the change feed of the subtree at m.Path: the entries of
// whatever changed there, by anyone, until the client cancels. A loss of
// events the watcher cannot recover from by itself is a Rescan.
func (s *session) subscribe(r *request, m *proto.Subscribe) error {
	if err := checkPath(m.Path, true); err != nil {
		return err
	}
	if _, err := s.checkFormat(m.Path, m.Format); err != nil {
		return err
	}
	w, err := watch.New(s.root, m.Path, watch.Options{Logger: s.log, Exclude: func(p string, dir bool) bool {
		first, _, _ := strings.Cut(p, "/")
		return first == core.StateDir || strings.HasPrefix(core.Base(p), core.TempPrefix)
	}})
	if err != nil {
		return err
	}
	defer w.Close()
	seq := uint64(0)
	for {
		select {
		case <-r.ctx.Done():
			return r.ctx.Err()
		case evs, ok := <-w.Events():
			if !ok {
				s.conn.Send(r.id, false, &proto.Rescan{Epoch: s.opt.Epoch, Reason: "the watcher stopped"})
				return fmt.Errorf("change feed of %q: %w", m.Path, w.Err())
			}
			entries, rescan := s.changes(r, m.Path, evs)
			if rescan {
				if err := s.conn.Send(r.id, false, &proto.Rescan{Epoch: s.opt.Epoch, Reason: "events were lost"}); err != nil {
					return err
				}
			}
			for _, b := range proto.Batches(entries) {
				seq++
				if err := s.conn.Send(r.id, false, &proto.Changes{Epoch: s.opt.Epoch, Seq: seq, Entries: b}); err != nil {
					return err
				}
			}
		}
	}
}

// changes turns watch events into the entries of what they name: the path
// itself (absent when gone) and, for a subtree, everything below it. A
// file being written (no hash yet) is left out; it is reported once closed.
func (s *session) changes(r *request, base string, evs []watch.Event) ([]proto.Entry, bool) {
	var out []proto.Entry
	for _, ev := range evs {
		if ev.Subtree && ev.Path == base {
			return nil, true
		}
		e, _, err := s.current(ev.Path, true)
		if err != nil {
			s.log.Debug("change not reported", "path", ev.Path, "err", err)
			continue
		}
		e.Path = ev.Path
		if e.Kind == proto.KindFile && e.Hash.IsZero() {
			continue
		}
		if !ev.Subtree || e.Kind != proto.KindDir {
			out = append(out, e)
			continue
		}
		f, err := s.formatOf(ev.Path)
		if err != nil {
			continue
		}
		sc, put := s.scanner(f, true) // the walk reports ev.Path itself first
		sc.Walk(ev.Path, func(se *scan.Entry) error {
			if se.Kind == scan.File && !se.HasHash() {
				return nil
			}
			out = append(out, toEntry(se))
			return r.ctx.Err()
		})
		put()
	}
	return out, false
}
