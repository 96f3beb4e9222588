package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
)

var (
	// ErrChanged: the server's file is no longer the content asked for.
	ErrChanged = errors.New("the file changed on the server")
	// ErrSourceChanged: the local file changed while it was sent.
	ErrSourceChanged = errors.New("the file changed while it was sent")
)

// TransferStats counts a transfer's payload: bytes sent, received, and
// taken from the old file instead of being sent.
type TransferStats struct{ Sent, Received, Reused int64 }

// minDelta is the smallest file worth a chunk list round trip.
const minDelta = 1 << 20

// Download writes the server's file p, which must hash to want, into dst
// from offset 0. base, if not nil, is the local old content: chunks it holds
// are copied from it and only the rest is read from the server. A dst that
// already holds bytes (what an interrupted download of the same content
// left) is continued at its end, without base. The result is checked
// against want (ErrChanged when the server's file moved on, or the bytes
// kept were not its start).
func (c *Client) Download(ctx context.Context, p string, want proto.Hash, base, dst *os.File) (TransferStats, error) {
	var st TransferStats
	if fi, err := dst.Stat(); err == nil && fi.Size() > 0 {
		base = nil
	}
	if base != nil {
		if fi, err := base.Stat(); err != nil || fi.Size() < minDelta {
			base = nil
		}
	}
	if base == nil {
		n, got, err := c.readAll(ctx, p, want, dst)
		st.Received = n
		if err != nil {
			return st, err
		}
		if got != want {
			return st, fmt.Errorf("download %s: %w", p, ErrChanged)
		}
		return st, nil
	}
	have, err := chunkOffsets(base)
	if err != nil {
		return st, fmt.Errorf("download %s: read the old file: %w", p, err)
	}
	refs, h, _, err := c.Chunks(ctx, p, want)
	if err != nil {
		return st, c.changed(err)
	}
	if h != want {
		return st, fmt.Errorf("download %s: %w", p, ErrChanged)
	}
	var missing []rng
	off := int64(0)
	for _, r := range refs {
		if boff, ok := have[r.ID]; ok {
			if err := copyRange(base, dst, boff, off, int64(r.Size)); err != nil {
				return st, fmt.Errorf("download %s: %w", p, err)
			}
			st.Reused += int64(r.Size)
		} else if n := len(missing); n > 0 && missing[n-1].off+missing[n-1].n == off {
			missing[n-1].n += int64(r.Size)
		} else {
			missing = append(missing, rng{off, int64(r.Size)})
		}
		off += int64(r.Size)
	}
	n, err := c.readRanges(ctx, p, want, missing, dst)
	st.Received = n
	if err != nil {
		return st, err
	}
	if err := dst.Truncate(off); err != nil {
		return st, err
	}
	got, _, err := proto.HashReader(proto.DefaultChunker(), io.NewSectionReader(dst, 0, off))
	if err != nil {
		return st, err
	}
	if got != want {
		return st, fmt.Errorf("download %s: %w", p, ErrChanged)
	}
	return st, nil
}

// changed turns a server conflict into ErrChanged.
func (c *Client) changed(err error) error {
	if errors.Is(err, proto.ErrConflict) {
		return fmt.Errorf("%w: %w", ErrChanged, err)
	}
	return err
}

// rng is a byte range of a file.
type rng struct{ off, n int64 }

// chunkOffsets chunks f and maps each chunk id to its offset.
func chunkOffsets(f *os.File) (map[proto.Hash]int64, error) {
	m := map[proto.Hash]int64{}
	off := int64(0)
	err := proto.DefaultChunker().Split(io.NewSectionReader(f, 0, 1<<62), func(b []byte) error {
		id := proto.ChunkID(b)
		if _, ok := m[id]; !ok {
			m[id] = off
		}
		off += int64(len(b))
		return nil
	})
	return m, err
}

// copyRange copies n bytes from src at soff to dst at doff.
func copyRange(src, dst *os.File, soff, doff, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		k, err := src.ReadAt(buf[:min(n, int64(len(buf)))], soff)
		if k == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if _, err := dst.WriteAt(buf[:k], doff); err != nil {
			return err
		}
		soff, doff, n = soff+int64(k), doff+int64(k), n-int64(k)
	}
	return nil
}

// readAll reads the file p into dst with one Read from where dst ends (0
// for an empty one), hashing the bytes dst held and those that come.
func (c *Client) readAll(ctx context.Context, p string, want proto.Hash, dst *os.File) (int64, proto.Hash, error) {
	fi, err := dst.Stat()
	if err != nil {
		return 0, proto.Hash{}, err
	}
	start := fi.Size()
	sh := proto.NewStreamHasher(proto.DefaultChunker())
	defer sh.Close()
	if _, err := io.Copy(sh, io.NewSectionReader(dst, 0, start)); err != nil {
		return 0, proto.Hash{}, err
	}
	n, err := c.read(ctx, p, want, uint64(start), 0, func(off uint64, b []byte) error {
		if _, err := dst.WriteAt(b, int64(off)); err != nil {
			return err
		}
		sh.Write(b)
		return nil
	})
	if err != nil {
		return n, proto.Hash{}, err
	}
	h, _ := sh.Sum()
	return n, h, nil
}

// readRanges reads the ranges of p into dst, several Reads at once.
func (c *Client) readRanges(ctx context.Context, p string, want proto.Hash, rs []rng, dst *os.File) (int64, error) {
	return Ranges(len(rs), func(i int) (int64, error) {
		return c.read(ctx, p, want, uint64(rs[i].off), uint64(rs[i].n), func(off uint64, b []byte) error {
			_, err := dst.WriteAt(b, int64(off))
			return err
		})
	})
}

// rangesAtOnce is how many range reads of one file are in flight.
const rangesAtOnce = 8

// Ranges runs read(0..n-1), rangesAtOnce at a time, and returns the bytes
// they read in all and the first error. Every read runs, even after one
// failed: each keeps what it wrote for the next run to resume from.
func Ranges(n int, read func(i int) (int64, error)) (int64, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		first error
	)
	sem := make(chan struct{}, rangesAtOnce)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			got, err := read(i)
			mu.Lock()
			total += got
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return total, first
}

// read runs one Read request, handing each Data frame to fn.
func (c *Client) read(ctx context.Context, p string, want proto.Hash, off, n uint64, fn func(uint64, []byte) error) (int64, error) {
	s, err := c.open(ctx, &proto.Read{Path: p, Hash: want, Offset: off, Length: n}, true)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	defer s.close()
	var got int64
	var ferr error
	for {
		f, err := s.recv(ctx)
		if err != nil {
			return got, fmt.Errorf("read %s: %w", p, err)
		}
		switch m := f.Msg.(type) {
		case *proto.Data:
			got += int64(len(m.Bytes))
			if ferr == nil {
				if ferr = fn(m.Offset, m.Bytes); ferr != nil {
					s.send(true, &proto.Cancel{})
				}
			}
		case *proto.Error:
			return got, fmt.Errorf("read %s: %w", p, c.changed(m))
		}
		if f.Final {
			return got, ferr
		}
	}
}

// UploadOptions describe the file an upload sends.
type UploadOptions struct {
	Transfer proto.TransferID // names the upload across reconnects
	Resume   bool             // continue what the server holds for Transfer
	Mode     uint32
	Mtime    int64
	Size     int64
	// Hash is what src must hash to; zero sends src unhashed, with the
	// server's hash of what it got taken (see Unhashed).
	Hash proto.Hash
	// Format is the folder's; with FormatSealed src is a sealed file
	// and the delta against the server's file is by whole records.
	Format proto.Format
}

// Upload sends src (from offset 0) to p on the server, based on expect
// (compare-and-swap: a race is proto.ErrConflict), as a delta against the
// server's file when expect is a large file. src must hash to o.Hash as it
// is read, else the upload is cancelled with ErrSourceChanged. With a
// zero o.Hash (only if Unhashed) src is sent whole, must be o.Size bytes
// with mtime o.Mtime and must not change while it is read (see
// unchanged); the entry returned carries the server's hash of it.
func (c *Client) Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o UploadOptions) (proto.Entry, TransferStats, error) {
	var st TransferStats
	var have map[proto.Hash]int64
	var before unix.Stat_t
	unhashed := o.Hash.IsZero()
	if unhashed {
		if !c.Unhashed() {
			return proto.Entry{}, st, fmt.Errorf("upload %s: the server takes no unhashed upload", p)
		}
		if err := unix.Fstat(int(src.Fd()), &before); err != nil {
			return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
		}
		if before.Size != o.Size || before.Mtim.Nano() != o.Mtime {
			return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, ErrSourceChanged)
		}
	} else if expect.Kind == proto.KindFile && o.Size >= minDelta {
		refs, _, _, err := c.Chunks(ctx, p, expect.Hash)
		if err != nil {
			return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
		}
		have = chunkMap(refs, o.Format)
	}
	s, err := c.open(ctx, &proto.Put{Transfer: o.Transfer, Path: p, Expect: expect, Resume: o.Resume, Format: o.Format}, false)
	if err != nil {
		return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
	}
	defer s.close()
	start := int64(0)
	if o.Resume {
		f, err := s.recv(ctx)
		if err != nil {
			return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
		}
		r, ok := f.Msg.(*proto.PutReady)
		if !ok {
			return proto.Entry{}, st, c.answer(p, f)
		}
		start = int64(r.Offset)
	}
	var off int64
	if have != nil && o.Format == proto.FormatSealed {
		// Records are copied whole; the server checks the hash.
		off, err = c.sendSealedDelta(s, p, src, start, have, &st)
	} else if have != nil {
		var h proto.Hash
		off, h, err = c.sendDelta(s, p, src, start, have, &st)
		if err == nil && h != o.Hash {
			err = ErrSourceChanged
		}
	} else {
		// The server hashes what it receives and refuses a Commit whose
		// hash differs (ErrMismatch): no need to chunk and hash the file
		// here a second time (the scan did once).
		off, err = c.sendRaw(s, p, src, start, o.Size, &st)
	}
	if err == nil && off != o.Size {
		err = ErrSourceChanged
	}
	if err == nil && unhashed {
		err = unchanged(src, &before)
	}
	var pe *proto.Error
	if errors.As(err, &pe) {
		return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
	}
	if err != nil {
		s.send(true, &proto.Cancel{Discard: true})
		s.drain()
		return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
	}
	if err := s.send(true, &proto.Commit{Size: uint64(off), Mtime: o.Mtime, Mode: o.Mode & proto.ModeMask, Hash: o.Hash}); err != nil {
		return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
	}
	for {
		f, err := s.recv(ctx)
		if err != nil {
			return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
		}
		if f.Final {
			e, err := done("upload "+p, f.Msg, nil)
			if err != nil {
				err = c.answer(p, f)
				if errors.Is(err, proto.ErrMismatch) {
					err = fmt.Errorf("upload %s: %w (%w)", p, ErrSourceChanged, err)
				}
				return e, st, err
			}
			return e, st, nil
		}
	}
}

// sendDelta sends src from start as Data frames, and as Copy frames the
// chunks the server's file has (have: chunk id to offset there), and
// returns the length and file hash of what it read.
func (c *Client) sendDelta(s *stream, p string, src *os.File, start int64, have map[proto.Hash]int64, st *TransferStats) (int64, proto.Hash, error) {
	fh := proto.NewFileHasher()
	off := int64(0)
	var pending *proto.Copy
	flush := func() error {
		if pending == nil {
			return nil
		}
		err := s.send(false, pending)
		pending = nil
		return err
	}
	err := proto.DefaultChunker().Split(io.NewSectionReader(src, 0, 1<<62), func(b []byte) error {
		id := proto.ChunkID(b)
		fh.Add(proto.ChunkRef{ID: id, Size: uint32(len(b))})
		end := off + int64(len(b))
		defer func() { off = end }()
		if end <= start {
			return nil
		}
		if f, ok := s.early(); ok {
			return c.answer(p, f)
		}
		skip := max(start-off, 0)
		if boff, ok := have[id]; ok {
			st.Reused += int64(len(b)) - skip
			if pending != nil && int64(pending.Offset+pending.Length) == off+skip && int64(pending.BaseOffset+pending.Length) == boff+skip {
				pending.Length += uint64(int64(len(b)) - skip)
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
			pending = &proto.Copy{Offset: uint64(off + skip), BaseOffset: uint64(boff + skip), Length: uint64(int64(len(b)) - skip)}
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		for i := skip; i < int64(len(b)); i += proto.MaxData {
			part := b[i:min(i+proto.MaxData, int64(len(b)))]
			if err := s.send(false, &proto.Data{Offset: uint64(off + i), Bytes: part}); err != nil {
				return err
			}
			st.Sent += int64(len(part))
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return off, fh.Sum(), err
}

// smallBufs holds sendRaw's read buffers for files of at most smallFile
// bytes (most files; larger ones are not read here).
var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallFile); return &b }}

// smallFile is the largest file read with a small buffer.
const smallFile = 16 << 10

// sendRaw sends src from start to its end as Data frames and returns the
// offset it reached. size is how long src is expected to be: a file of
// more than smallFile bytes is sent as that many (spliced, see
// proto.Conn.SendFile), and one that ends first or fails to read is
// ErrSourceChanged; a smaller one is read to its end whatever it is.
func (c *Client) sendRaw(s *stream, p string, src *os.File, start, size int64, st *TransferStats) (int64, error) {
	if size-start > smallFile {
		return c.sendFrom(s, p, src, start, size, st)
	}
	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	off := start
	for {
		n, err := src.ReadAt(*bp, off)
		if n > 0 {
			if f, ok := s.early(); ok {
				return off, c.answer(p, f)
			}
			if err := s.send(false, &proto.Data{Offset: uint64(off), Bytes: (*bp)[:n]}); err != nil {
				return off, err
			}
			st.Sent += int64(n)
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("read: %w", err)
		}
	}
}

// sendFrom sends size-start bytes of src from start as Data frames whose
// bytes the connection takes from src itself.
func (c *Client) sendFrom(s *stream, p string, src *os.File, start, size int64, st *TransferStats) (int64, error) {
	off := start
	for off < size {
		if f, ok := s.early(); ok {
			return off, c.answer(p, f)
		}
		n := int(min(size-off, proto.MaxData))
		if err := s.sendFile(src, off, n); errors.Is(err, proto.ErrShortFile) {
			return off, fmt.Errorf("%w: %w", ErrSourceChanged, err)
		} else if err != nil {
			return off, err
		}
		st.Sent += int64(n)
		off += int64(n)
	}
	return off, nil
}

// early returns the final answer of the request if it already came (an
// upload the server refused while it was being sent).
func (s *stream) early() (proto.Frame, bool) {
	for {
		select {
		case f, ok := <-s.in:
			if !ok {
				return proto.Frame{Msg: &proto.Error{Code: proto.CodeInternal, Message: "connection lost"}}, true
			}
			if f.Final {
				return f, true
			}
		default:
			return proto.Frame{}, false
		}
	}
}

// drain waits for the final answer after a Cancel.
func (s *stream) drain() {
	for f := range s.in {
		if f.Final {
			return
		}
	}
}

// answer turns an unexpected final answer into an error.
func (c *Client) answer(p string, f proto.Frame) error {
	if e, ok := f.Msg.(*proto.Error); ok {
		return e
	}
	return fmt.Errorf("upload %s: unexpected %T", p, f.Msg)
}
