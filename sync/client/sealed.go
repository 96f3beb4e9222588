package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/seal"
)

// An encrypted (zero-knowledge) folder is synced through sealedRemote: the
// engine works on plaintext paths and the plaintext's sealed hashes (what
// the server computes from the records it stores, see sealedHasher), and
// sealedRemote encrypts every path below the folder root (sync/seal's
// names, bound to their parent), seals contents on upload and opens them
// on download, record by record. The server sees only the stored names,
// records and the key marker at the folder root.

var (
	// ErrWrongKey: the server's folder is sealed under another key.
	// Nothing was changed.
	ErrWrongKey = seal.ErrWrongKey
	// ErrTampered: a name, chunk list or record on the server fails
	// authentication (changed or truncated ciphertext). The local copy is
	// kept.
	ErrTampered = errors.New("the server's copy fails authentication (changed or truncated ciphertext)")
)

// sealedRemote is the engine's Remote for an encrypted folder: it
// translates between plaintext paths below base and stored ones.
type sealedRemote struct {
	rc    *remote.Client
	key   *seal.Key
	base  string // the folder on the server (not encrypted)
	chunk *proto.Chunker
	tmp   string // where uploads are sealed before they are sent
	fresh bool   // a dry run of a folder that has no marker yet: empty

	mu    sync.Mutex
	sizes map[proto.Hash]uint64 // plaintext sizes of sealed hashes seen
}

// newSealedRemote returns the Remote of the encrypted folder base.
func newSealedRemote(rc *remote.Client, key *seal.Key, base, tmp string) (*sealedRemote, error) {
	ch, err := proto.NewChunker(proto.DefaultParams, key.GearSeed())
	if err != nil {
		return nil, err
	}
	rc.SetFormat(proto.FormatSealed)
	return &sealedRemote{rc: rc, key: key, base: base, chunk: ch, tmp: tmp, sizes: map[proto.Hash]uint64{}}, nil
}

// rel returns p relative to the folder root; ok is false for the root.
func (s *sealedRemote) rel(p string) (string, bool) {
	if s.base == "" {
		return p, p != ""
	}
	if p == s.base {
		return "", false
	}
	r, ok := strings.CutPrefix(p, s.base+"/")
	return r, ok
}

// enc returns the stored path of the server path p (plaintext below base).
func (s *sealedRemote) enc(p string) (string, error) {
	r, ok := s.rel(p)
	if !ok {
		return p, nil
	}
	st, long, err := s.key.EncryptPath(r)
	if err != nil {
		return "", err
	}
	if len(long) > 0 {
		return "", fmt.Errorf("%s: a name over %d bytes is not supported in an encrypted folder yet", r, 159)
	}
	return remotePath(s.base, st), nil
}

// encExpect encrypts an expected symlink target.
func (s *sealedRemote) encExpect(p string, x proto.Expect) (proto.Expect, error) {
	if x.Kind == proto.KindSymlink {
		r, _ := s.rel(p)
		t, err := s.key.EncryptTarget(r, x.Target)
		if err != nil {
			return x, err
		}
		x.Target = t
	}
	return x, nil
}

// open turns an entry the server sent for plaintext path p into the
// plaintext's: the path, a symlink's target and a file's plaintext size.
func (s *sealedRemote) open(ctx context.Context, p string, e proto.Entry) (proto.Entry, error) {
	e.Path = p
	switch e.Kind {
	case proto.KindSymlink:
		r, _ := s.rel(p)
		t, err := s.key.DecryptTarget(r, e.Target)
		if err != nil {
			return e, fmt.Errorf("%s: symlink target: %w: %w", p, ErrTampered, err)
		}
		e.Target = t
	case proto.KindFile:
		n, err := s.plainSize(ctx, p, e)
		if err != nil {
			return e, err
		}
		e.Size = n
	}
	return e, nil
}

// sealedEmpty is the size of a sealed empty file: the magic and the end
// record; a chunk adds its record header and tag.
const (
	sealedEmpty    = 8 + seal.RecordHeader + seal.EndSize // 8: len(seal.Magic)
	sealedPerChunk = seal.RecordHeader + seal.TagSize
)

// plainSize returns the plaintext size of a sealed file listed as e at p.
// A file of at most one chunk (the chunker's minimum; most files) is
// known from its size; a larger one from its end record, the file's last
// 8 bytes, read once per content. A size the server lies about is caught
// at download, where the hash (which covers the end record) is checked.
func (s *sealedRemote) plainSize(ctx context.Context, p string, e proto.Entry) (uint64, error) {
	switch {
	case e.Size < sealedEmpty:
		return 0, fmt.Errorf("%s: %w: %d bytes", p, ErrTampered, e.Size)
	case e.Size == sealedEmpty:
		return 0, nil
	case e.Size-sealedEmpty-sealedPerChunk <= uint64(proto.DefaultParams.Min):
		return e.Size - sealedEmpty - sealedPerChunk, nil
	case e.Hash.IsZero():
		return e.Size, nil // unknown anyway: left alone this run
	}
	s.mu.Lock()
	n, ok := s.sizes[e.Hash]
	s.mu.Unlock()
	if ok {
		return n, nil
	}
	sp, err := s.enc(p)
	if err != nil {
		return 0, err
	}
	var b []byte
	_, err = s.rc.ReadRange(ctx, sp, e.Hash, e.Size-8, 8, func(_ uint64, d []byte) error {
		b = append(b, d...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%s: %w: no end record", p, ErrTampered)
	}
	n = uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	s.remember(e.Hash, n)
	return n, nil
}

// knownSizes takes the plaintext sizes of the files of t (the last agreed
// state) that need more than their sealed size to know it, so that a
// re-sync reads no end record of a file it has seen.
func (s *sealedRemote) knownSizes(t core.Tree) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range t.All() {
		if e.Kind == core.File && e.Size > int64(proto.DefaultParams.Min) {
			s.sizes[proto.Hash(e.Hash)] = uint64(e.Size)
		}
	}
}

func (s *sealedRemote) remember(h proto.Hash, n uint64) {
	s.mu.Lock()
	s.sizes[h] = n
	s.mu.Unlock()
}

// List lists the folder (p is its root) with every stored name decrypted,
// in the listing's order of the plaintext paths. The key marker is left
// out; a name this key did not make is an error wrapping ErrTampered.
func (s *sealedRemote) List(ctx context.Context, p string, h proto.HashMode, fn func([]proto.Entry) error) error {
	if s.fresh {
		return fn(nil)
	}
	plain := map[string]string{} // stored directory path to plaintext
	var out []proto.Entry
	err := s.rc.List(ctx, p, h, func(es []proto.Entry) error {
		for _, e := range es {
			r, ok := s.rel(e.Path)
			if !ok {
				if e.Path == p {
					plain[""] = ""
					out = append(out, e)
				}
				continue
			}
			if r == proto.KeyMarker {
				continue
			}
			dir, name := core.Parent(r), core.Base(r)
			pdir, ok := plain[dir]
			if !ok {
				return fmt.Errorf("list %s: %q comes before its directory", p, e.Path)
			}
			n, err := s.key.DecryptName(pdir, name)
			if err != nil {
				return fmt.Errorf("list %s: %w: %w", p, ErrTampered, err)
			}
			pp := joinRel(pdir, n)
			if e.Kind == proto.KindDir {
				plain[r] = pp
			}
			e.Path = remotePath(s.base, pp)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.openAll(ctx, out); err != nil {
		return err
	}
	slices.SortFunc(out, func(a, b proto.Entry) int { return core.ComparePaths(a.Path, b.Path) })
	return fn(out)
}

// openAll opens the entries (targets, sizes) several at once: a large
// file's size may take a read.
func (s *sealedRemote) openAll(ctx context.Context, es []proto.Entry) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, 16)
	for i := range es {
		if es[i].Kind != proto.KindFile && es[i].Kind != proto.KindSymlink {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			e, err := s.open(ctx, es[i].Path, es[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			es[i] = e
		}()
	}
	wg.Wait()
	return first
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Stat returns the entries of plaintext paths.
func (s *sealedRemote) Stat(ctx context.Context, paths []string, h proto.HashMode) ([]proto.Entry, error) {
	sp := make([]string, len(paths))
	for i, p := range paths {
		var err error
		if sp[i], err = s.enc(p); err != nil {
			return nil, err
		}
	}
	es, err := s.rc.Stat(ctx, sp, h)
	if err != nil {
		return nil, err
	}
	for i := range es {
		if es[i], err = s.open(ctx, paths[i], es[i]); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// done opens the entry a change answered with.
func (s *sealedRemote) done(ctx context.Context, p string, e proto.Entry, err error) (proto.Entry, error) {
	if err != nil {
		return e, err
	}
	return s.open(ctx, p, e)
}

func (s *sealedRemote) Mkdir(ctx context.Context, p string, mode uint32, mtime int64) (proto.Entry, error) {
	sp, err := s.enc(p)
	if err != nil {
		return proto.Entry{}, err
	}
	e, err := s.rc.Mkdir(ctx, sp, mode, mtime)
	return s.done(ctx, p, e, err)
}

func (s *sealedRemote) Symlink(ctx context.Context, p, target string, x proto.Expect) (proto.Entry, error) {
	sp, err := s.enc(p)
	if err != nil {
		return proto.Entry{}, err
	}
	r, _ := s.rel(p)
	t, err := s.key.EncryptTarget(r, target)
	if err != nil {
		return proto.Entry{}, err
	}
	if x, err = s.encExpect(p, x); err != nil {
		return proto.Entry{}, err
	}
	e, err := s.rc.Symlink(ctx, sp, t, x)
	return s.done(ctx, p, e, err)
}

// Rename renames a file or symlink. A symlink's target is bound to its
// path, so a moved link is written again at its new path. A directory's
// names are bound to it, so renaming one is refused (the engine never
// asks: it moves files and links, and a directory always keeps a contested
// name).
func (s *sealedRemote) Rename(ctx context.Context, from, to string, x, xTo proto.Expect) (proto.Entry, error) {
	if x.Kind == proto.KindDir {
		return proto.Entry{}, fmt.Errorf("rename %s: directories of an encrypted folder are not renamed on the server", from)
	}
	sf, err := s.enc(from)
	if err != nil {
		return proto.Entry{}, err
	}
	if x.Kind == proto.KindSymlink {
		e, err := s.Symlink(ctx, to, x.Target, xTo)
		if err != nil {
			return e, err
		}
		ex, _ := s.encExpect(from, x)
		return e, s.rc.Delete(ctx, sf, ex)
	}
	st, err := s.enc(to)
	if err != nil {
		return proto.Entry{}, err
	}
	if xTo, err = s.encExpect(to, xTo); err != nil {
		return proto.Entry{}, err
	}
	e, err := s.rc.Rename(ctx, sf, st, x, xTo)
	return s.done(ctx, to, e, err)
}

func (s *sealedRemote) Delete(ctx context.Context, p string, x proto.Expect) error {
	sp, err := s.enc(p)
	if err != nil {
		return err
	}
	if x, err = s.encExpect(p, x); err != nil {
		return err
	}
	return s.rc.Delete(ctx, sp, x)
}

func (s *sealedRemote) SetAttr(ctx context.Context, p string, x proto.Expect, mode uint32, mtime int64) (proto.Entry, error) {
	sp, err := s.enc(p)
	if err != nil {
		return proto.Entry{}, err
	}
	if x, err = s.encExpect(p, x); err != nil {
		return proto.Entry{}, err
	}
	e, err := s.rc.SetAttr(ctx, sp, x, mode, mtime)
	return s.done(ctx, p, e, err)
}

func (s *sealedRemote) Flush(ctx context.Context) error { return s.rc.Flush(ctx) }
func (s *sealedRemote) Stats() remote.Stats             { return s.rc.Stats() }

// sealRemote checks the server's folder against o.Key (prepareSealed) and
// returns the Remote that seals it. rc must be a *remote.Client.
func sealRemote(ctx context.Context, rc Remote, o Options) (*sealedRemote, error) {
	c, ok := rc.(*remote.Client)
	if !ok {
		return nil, fmt.Errorf("an encrypted folder needs a connection to a server, not a %T", rc)
	}
	fresh, err := prepareSealed(ctx, c, o.Key, o.RemotePath, o.DryRun)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	s, err := newSealedRemote(c, o.Key, o.RemotePath, o.StateDir)
	if s != nil {
		s.fresh = fresh
	}
	return s, err
}
