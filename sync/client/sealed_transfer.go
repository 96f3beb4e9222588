package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/seal"
)

// sealedHasher hashes a local file of an encrypted folder as the server
// hashes its sealed copy (proto.SealedHasher): the file hash of the
// records it seals to, so that the engine compares the two sides' hashes
// directly. Its name holds the key id, so the scan cache never mixes keys
// or formats.
type sealedHasher struct {
	key   *seal.Key
	chunk *proto.Chunker
}

func (h sealedHasher) Name() string { return "scseal1-plain-" + h.key.ID() }

// Hash returns the hash of the records f seals to (their ids and sizes:
// nothing is encrypted).
func (h sealedHasher) Hash(f *os.File) ([32]byte, error) {
	fh := proto.NewFileHasher()
	err := h.key.Records(f, h.chunk, func(r seal.Record) {
		fh.Add(proto.ChunkRef{ID: r.ID, Size: r.Size})
	})
	return fh.Sum(), err
}

// Upload seals src into a temporary file, checks that it is the content
// the plan saw (its hash), and sends it, as a delta of whole records
// against the server's file when that is large (equal chunks are equal
// records).
func (s *sealedRemote) Upload(ctx context.Context, p string, x proto.Expect, src *os.File, o remote.UploadOptions) (proto.Entry, remote.TransferStats, error) {
	var st remote.TransferStats
	sp, err := s.enc(p)
	if err != nil {
		return proto.Entry{}, st, err
	}
	tmp, err := os.CreateTemp(s.tmp, "seal-*")
	if err != nil {
		return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	recs, err := s.key.Seal(tmp, io.NewSectionReader(src, 0, 1<<62), s.chunk)
	if err != nil {
		return proto.Entry{}, st, fmt.Errorf("upload %s: seal: %w", p, err)
	}
	fh := proto.NewFileHasher()
	for _, r := range recs {
		fh.Add(proto.ChunkRef{ID: r.ID, Size: r.Size})
	}
	if fh.Sum() != o.Hash {
		return proto.Entry{}, st, fmt.Errorf("upload %s: %w", p, remote.ErrSourceChanged)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return proto.Entry{}, st, err
	}
	if x, err = s.encExpect(p, x); err != nil {
		return proto.Entry{}, st, err
	}
	plain := o.Size
	o.Size, o.Format = fi.Size(), proto.FormatSealed
	if o.Resume {
		// The transfer id the engine derived names the plaintext path:
		// derive it from the stored one instead.
		h := sha256.Sum256([]byte("simplecloud-sync sealed transfer v1\x00" + sp + "\x00" + string(o.Hash[:])))
		copy(o.Transfer[:], h[:])
	}
	e, st, err := s.rc.Upload(ctx, sp, x, tmp, o)
	if err != nil {
		return e, st, err
	}
	s.remember(e.Hash, uint64(plain))
	e.Path, e.Size = p, uint64(plain)
	return e, st, nil
}

// Download writes the plaintext of the server's file p, whose sealed hash
// must be want, into dst. The record list is authenticated (seal's
// CheckList) before anything is fetched; chunks that base (the local old
// content) or dst (an interrupted download of the same content) hold are
// taken from there by their keyed ids, and only the other records are
// read from the server, each authenticated as it is opened. Anything that
// fails authentication is ErrTampered.
func (s *sealedRemote) Download(ctx context.Context, p string, want proto.Hash, base, dst *os.File) (remote.TransferStats, error) {
	var st remote.TransferStats
	sp, err := s.enc(p)
	if err != nil {
		return st, err
	}
	refs, h, _, err := s.rc.Chunks(ctx, sp, want)
	if err != nil {
		if errors.Is(err, proto.ErrConflict) {
			return st, fmt.Errorf("download %s: %w: %w", p, remote.ErrChanged, err)
		}
		if errors.Is(err, proto.ErrFrame) || isNotSealed(err) {
			return st, fmt.Errorf("download %s: %w: %w", p, ErrTampered, err)
		}
		return st, err
	}
	if h != want {
		return st, fmt.Errorf("download %s: %w", p, remote.ErrChanged)
	}
	recs := make([]seal.Record, len(refs))
	for i, r := range refs {
		recs[i] = seal.Record{ID: r.ID, Size: r.Size}
	}
	if err := s.key.CheckList(recs); err != nil {
		return st, fmt.Errorf("download %s: %w: %w", p, ErrTampered, err)
	}
	have := map[proto.Hash]source{}
	for _, f := range []*os.File{dst, base} {
		if f != nil {
			if err := s.chunksOf(f, have); err != nil {
				return st, fmt.Errorf("download %s: read the local copy: %w", p, err)
			}
		}
	}
	offs := proto.SealedRecordOffsets(refs)
	var missing []sealedRange
	poff := int64(0)
	for i, r := range refs[:len(refs)-1] {
		n := int64(r.Size) - seal.TagSize
		// A chunk of dst is used only where it already is: copying
		// within dst could overwrite what a later chunk needs.
		if src, ok := have[r.ID]; ok && src.n == n && (src.f != dst || src.off == poff) {
			if src.f != dst || src.off != poff {
				if err := copyAt(src.f, dst, src.off, poff, n); err != nil {
					return st, fmt.Errorf("download %s: %w", p, err)
				}
			}
			st.Reused += n
		} else if k := len(missing); k > 0 && missing[k-1].last+1 == i && missing[k-1].bytes < 8<<20 {
			missing[k-1].last = i
			missing[k-1].bytes += proto.SealedHeaderSize + int64(r.Size)
		} else {
			missing = append(missing, sealedRange{first: i, last: i, bytes: proto.SealedHeaderSize + int64(r.Size)})
		}
		poff += n
	}
	n, err := s.fetch(ctx, p, sp, want, refs, offs, missing, dst)
	st.Received = n
	if err != nil {
		return st, err
	}
	if err := dst.Truncate(poff); err != nil {
		return st, err
	}
	s.remember(want, uint64(poff))
	return st, nil
}

// source is where a plaintext chunk is held locally.
type source struct {
	f      *os.File
	off, n int64
}

// sealedRange is a run of records to read from the server, first..last.
type sealedRange struct {
	first, last int
	bytes       int64
}

// chunksOf adds the chunks of the local file f, by keyed id, to have.
func (s *sealedRemote) chunksOf(f *os.File, have map[proto.Hash]source) error {
	off := int64(0)
	return s.chunk.Split(io.NewSectionReader(f, 0, 1<<62), func(b []byte) error {
		id := proto.Hash(s.key.ChunkID(b))
		if _, ok := have[id]; !ok {
			have[id] = source{f: f, off: off, n: int64(len(b))}
		}
		off += int64(len(b))
		return nil
	})
}

// fetch reads the missing records, several ranges at once, opens each
// one (AEAD and id checked) and writes its plaintext into dst at its
// place. It returns the bytes received.
func (s *sealedRemote) fetch(ctx context.Context, p, sp string, want proto.Hash, refs []proto.ChunkRef, offs []int64, rs []sealedRange, dst *os.File) (int64, error) {
	// Plaintext offsets of the records.
	poffs := make([]int64, len(refs))
	for i := 1; i < len(refs); i++ {
		poffs[i] = poffs[i-1] + int64(refs[i-1].Size) - seal.TagSize
	}
	total, first := remote.Ranges(len(rs), func(i int) (int64, error) {
		r := rs[i]
		// Each record is opened and written as soon as it is whole,
		// so a cut connection leaves every record before the cut in
		// dst, where the next run finds it.
		start, next := offs[r.first], r.first
		var buf, pt []byte
		n, err := s.rc.ReadRange(ctx, sp, want, uint64(start), uint64(r.bytes), func(off uint64, b []byte) error {
			if int64(off) != start+int64(len(buf)) {
				return fmt.Errorf("read %s: data at %d, expected %d", p, off, start+int64(len(buf)))
			}
			buf = append(buf, b...)
			for next <= r.last && int64(len(buf)) >= proto.SealedHeaderSize+int64(refs[next].Size) {
				k := proto.SealedHeaderSize + int64(refs[next].Size)
				var err error
				if pt, err = s.openRecord(p, refs[next], next, buf[:k], pt[:0]); err != nil {
					return err
				}
				if _, err := dst.WriteAt(pt, poffs[next]); err != nil {
					return err
				}
				buf, start, next = buf[k:], start+k, next+1
			}
			return nil
		})
		if err == nil && next <= r.last {
			err = fmt.Errorf("download %s: %w: record %d cut short", p, ErrTampered, next)
		}
		return n, err
	})
	if first != nil && errors.Is(first, proto.ErrConflict) {
		first = fmt.Errorf("download %s: %w: %w", p, remote.ErrChanged, first)
	}
	return total, first
}

// openRecord checks that rec (header and payload) is the record ref
// listed at index i, opens it and returns its plaintext appended to pt.
func (s *sealedRemote) openRecord(p string, ref proto.ChunkRef, i int, rec, pt []byte) ([]byte, error) {
	if string(rec[:32]) != string(ref.ID[:]) {
		return nil, fmt.Errorf("download %s: %w: record %d is not the one listed", p, ErrTampered, i)
	}
	pt, err := s.key.OpenRecord(pt, ref.ID, rec[proto.SealedHeaderSize:])
	if err != nil {
		return nil, fmt.Errorf("download %s: %w: %w", p, ErrTampered, err)
	}
	return pt, nil
}

// isNotSealed reports whether the server could not read its file as a
// sealed one (it answers a bad magic or record as an internal error).
func isNotSealed(err error) bool {
	var pe *proto.Error
	return errors.As(err, &pe) && pe.Code == proto.CodeInternal && strings.Contains(pe.Message, "sealed")
}

// prepareSealed makes sure the server's folder is this key's before
// anything else: a folder with this key's marker is used as it is; one with
// another key's marker is ErrWrongKey; an empty or missing folder gets the
// marker (unless dryRun: then fresh says the folder has none yet); a
// folder of plain files is refused. Nothing is changed on either side when
// it fails.
func prepareSealed(ctx context.Context, rc *remote.Client, key *seal.Key, base string, dryRun bool) (fresh bool, err error) {
	rc.SetFormat(proto.FormatPlain) // until the folder is known to be sealed
	if !rc.HasSealed() {
		return false, fmt.Errorf("the server does not serve encrypted folders: upgrade simplecloud on it")
	}
	mp := remotePath(base, proto.KeyMarker)
	es, err := rc.Stat(ctx, []string{base, mp}, proto.HashesAll)
	if err != nil {
		return false, err
	}
	switch {
	case es[1].Kind == proto.KindFile:
		return false, checkMarker(ctx, rc, key, base, mp, es[1].Hash)
	case es[1].Kind != proto.KindAbsent:
		return false, fmt.Errorf("%s on the server is not a key marker (a %v): %w", mp, es[1].Kind, ErrUnsafe)
	case es[0].Kind == proto.KindDir:
		n := 0
		err := rc.List(ctx, base, proto.HashesNone, func(es []proto.Entry) error {
			n += len(es)
			return nil
		})
		if err != nil {
			return false, err
		}
		if n > 1 {
			return false, fmt.Errorf("the server's folder %q holds files but no key marker (%s): it is not an encrypted folder (or its marker was removed), and an encrypted folder must start empty; choose another folder, or sync this one without a key: %w", base, proto.KeyMarker, ErrUnsafe)
		}
	case es[0].Kind != proto.KindAbsent:
		return false, fmt.Errorf("%q on the server is not a folder: %w", base, ErrUnsafe)
	}
	if dryRun {
		return true, nil
	}
	if es[0].Kind == proto.KindAbsent {
		if err := mkdirs(ctx, rc, base); err != nil {
			return false, err
		}
	}
	return false, putMarker(ctx, rc, key, mp)
}

// checkMarker reads the server's key marker and checks it against key.
func checkMarker(ctx context.Context, rc *remote.Client, key *seal.Key, base, mp string, h proto.Hash) error {
	tmp, err := os.CreateTemp("", "simplecloud-marker-*")
	if err != nil {
		return err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	if _, err := rc.Download(ctx, mp, h, nil, tmp); err != nil {
		return fmt.Errorf("read the key marker of %q: %w", base, err)
	}
	b, err := os.ReadFile(tmp.Name())
	if err != nil {
		return err
	}
	if err := key.CheckMarker(b); err != nil {
		if errors.Is(err, seal.ErrWrongKey) {
			return fmt.Errorf("the server's folder %q: %w (nothing was changed; simplecloud key import adds the folder's key)", base, err)
		}
		return fmt.Errorf("the server's folder %q: its key marker: %w: %w", base, ErrTampered, err)
	}
	return nil
}

// putMarker writes the key marker to the server at mp, if nothing is there.
func putMarker(ctx context.Context, rc *remote.Client, key *seal.Key, mp string) error {
	b := key.Marker()
	tmp, err := os.CreateTemp("", "simplecloud-marker-*")
	if err != nil {
		return err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	h, _, err := proto.HashReader(proto.DefaultChunker(), io.NewSectionReader(tmp, 0, int64(len(b))))
	if err != nil {
		return err
	}
	var tid proto.TransferID
	rand.Read(tid[:])
	_, _, err = rc.Upload(ctx, mp, proto.Expect{}, tmp, remote.UploadOptions{Transfer: tid, Mode: 0o444,
		Size: int64(len(b)), Hash: h, Format: proto.FormatPlain})
	if errors.Is(err, proto.ErrConflict) {
		// Another client wrote one at the same moment: check it.
		es, serr := rc.Stat(ctx, []string{mp}, proto.HashesAll)
		if serr != nil {
			return serr
		}
		return checkMarker(ctx, rc, key, core.Parent(mp), mp, es[0].Hash)
	}
	if err != nil {
		return fmt.Errorf("write the key marker: %w", err)
	}
	return nil
}

// copyAt copies n bytes from src at soff to dst at doff.
func copyAt(src, dst *os.File, soff, doff, n int64) error {
	_, err := io.Copy(io.NewOffsetWriter(dst, doff), io.NewSectionReader(src, soff, n))
	return err
}
