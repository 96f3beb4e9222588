package syncd

import (
	"errors"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
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

func (b *batcher) flush(final bool) error {
	err := b.s.conn.Send(b.id, final, &proto.EntryBatch{Entries: b.entries})
	b.entries, b.bytes = b.entries[:0], 0
	return err
}

// list sends the subtree at m.Path: its own entry first, then everything
// below, depth-first, names in byte order.
func (s *session) list(r *request, m *proto.List) error {
	if err := checkPath(m.Path, true); err != nil {
		return err
	}
	if m.Format != proto.FormatPlain {
		return &proto.Error{Code: proto.CodeUnsupported, Message: "sealed folders are not served yet"}
	}
	sc, put := s.scanner(m.Hashes != proto.HashesNone)
	defer put()
	b := &batcher{s: s, id: r.id}
	if m.Path == "" {
		root, _, err := s.current("", false)
		if err != nil {
			return err
		}
		if err := b.add(root); err != nil {
			return err
		}
	}
	sum, err := sc.Walk(m.Path, func(e *scan.Entry) error {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if e.Kind == scan.File && !e.HasHash() && m.Hashes != proto.HashesNone {
			// Being written or unreadable: listed without a hash, so
			// the client neither trusts nor deletes it.
			s.log.Debug("listed without hash", "path", e.Path, "unstable", e.Unstable, "err", e.Err)
		}
		return b.add(toEntry(e))
	})
	if errors.Is(err, unix.ENOENT) && m.Path != "" {
		return &proto.Error{Code: proto.CodeNotFound, Message: m.Path + ": no such file or directory"}
	}
	if err != nil {
		return err
	}
	for _, u := range sum.Unscanned {
		s.log.Info("directory not listed", "path", u.Path, "err", u.Err)
	}
	return b.flush(true)
}

// stat answers the entries of some paths, KindAbsent for missing ones.
func (s *session) stat(r *request, m *proto.Stat) error {
	if len(m.Paths) > proto.MaxBatch {
		return badRequest("stat of %d paths, at most %d", len(m.Paths), proto.MaxBatch)
	}
	out := make([]proto.Entry, 0, len(m.Paths))
	for _, p := range m.Paths {
		if err := checkPath(p, true); err != nil {
			return err
		}
		e, _, err := s.current(p, false)
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

// subscribe is the change feed: not served by this build yet.
func (s *session) subscribe(r *request, m *proto.Subscribe) error {
	return &proto.Error{Code: proto.CodeUnsupported, Message: "this server has no change feed yet"}
}
