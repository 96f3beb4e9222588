package remote

import (
	"context"
	"errors"

	"io"
	"os"

	"simplecloud/sync/proto"
)

// chunkMap maps each chunk id of the server's file to where its bytes
// start there: the chunk itself in a plain file, the record (header and
// payload, which a sealed upload copies whole) in a sealed one.
func chunkMap(refs []proto.ChunkRef, f proto.Format) map[proto.Hash]int64 {
	have := map[proto.Hash]int64{}
	if f == proto.FormatSealed {
		for i, off := range proto.SealedRecordOffsets(refs) {
			if _, ok := have[refs[i].ID]; !ok {
				have[refs[i].ID] = off
			}
		}
		return have
	}
	off := int64(0)
	for _, r := range refs {
		if _, ok := have[r.ID]; !ok {
			have[r.ID] = off
		}
		off += int64(r.Size)
	}
	return have
}

// sendSealedDelta sends the sealed file src from start: the magic and each
// record the server's file lacks as Data, each record it has (have: id to
// the record's offset there) as one Copy, since equal chunks seal to equal
// records. It returns the length sent. The server hashes what it gets.
func (c *Client) sendSealedDelta(s *stream, p string, src *os.File, start int64, have map[proto.Hash]int64, st *TransferStats) (int64, error) {
	var pending *proto.Copy
	flush := func() error {
		if pending == nil {
			return nil
		}
		err := s.send(false, pending)
		pending = nil
		return err
	}
	// data sends src's bytes [from, to) that lie past start.
	data := func(from, to int64) error {
		from = max(from, start)
		buf := make([]byte, min(to-from, proto.MaxData))
		for from < to {
			n, err := src.ReadAt(buf[:min(to-from, int64(len(buf)))], from)
			if n == 0 {
				if err == nil || errors.Is(err, io.EOF) {
					err = ErrSourceChanged
				}
				return err
			}
			if err := s.send(false, &proto.Data{Offset: uint64(from), Bytes: buf[:n]}); err != nil {
				return err
			}
			st.Sent += int64(n)
			from += int64(n)
		}
		return nil
	}
	end := int64(len(proto.SealedMagic))
	if start < end {
		if err := data(0, end); err != nil {
			return 0, err
		}
	}
	err := proto.SealedRecords(io.NewSectionReader(src, 0, 1<<62), func(r proto.ChunkRef, off int64) error {
		n := proto.SealedHeaderSize + int64(r.Size)
		end = off + n
		if end <= start {
			return nil
		}
		if f, ok := s.early(); ok {
			return c.answer(p, f)
		}
		skip := max(start-off, 0)
		if boff, ok := have[r.ID]; ok {
			st.Reused += n - skip
			if pending != nil && int64(pending.Offset+pending.Length) == off+skip && int64(pending.BaseOffset+pending.Length) == boff+skip {
				pending.Length += uint64(n - skip)
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
			pending = &proto.Copy{Offset: uint64(off + skip), BaseOffset: uint64(boff + skip), Length: uint64(n - skip)}
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		return data(off, end)
	})
	if err == nil {
		err = flush()
	}
	return end, err
}

// ReadRange reads n bytes (0: to the end) of the server's file p at off,
// which must still hash to want, handing each piece to fn with its offset:
// a sealed download's missing records.
func (c *Client) ReadRange(ctx context.Context, p string, want proto.Hash, off, n uint64, fn func(uint64, []byte) error) (int64, error) {
	return c.read(ctx, p, want, off, n, fn)
}

// HasSealed reports whether the server serves sealed folders.
func (c *Client) HasSealed() bool {
	for _, cp := range c.w.Caps {
		if cp == proto.CapSealed {
			return true
		}
	}
	return false
}
