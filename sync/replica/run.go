package replica

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
	"simplecloud/sync/seal"
)

// Source is one tree to replicate: Name is "USER" or "USER:FOLDER", Root
// the tree opened by the caller (as the user, or as root with
// RESOLVE_BENEATH).
type Source struct {
	Name string
	Root *rootfs.Root
}

// Replicator writes snapshots of sources to a bucket.
type Replicator struct {
	Bucket Bucket
	Key    *seal.Key
	// StateDir holds the chunk cache of this bucket and key.
	StateDir string
	// BucketName names the bucket in StateDir (endpoint and bucket).
	BucketName string
	Log        *slog.Logger
	// Uploads is how many chunks go up at once (default 16).
	Uploads int
	// Now and Rand make snapshot names (defaults time.Now, crypto/rand).
	Now  func() time.Time
	Rand io.Reader

	// beforeRead, in tests, runs before a file is stat'ed for reading.
	beforeRead func(path string)
}

// errVanished is a file that was removed between the walk and its read:
// it is left out of the snapshot, as if the walk had come a moment later.
var errVanished = errors.New("file vanished")

// Stats count what a run did.
type Stats struct {
	Snapshot       string
	Files          int   // files in the snapshot
	Read           int   // files read (new or changed)
	Reused         int   // files whose record list came from the last snapshot unread
	ChunksUploaded int   // chunk objects put
	BytesUploaded  int64 // bytes of those
	ChunksSkipped  int   // chunks the bucket had already
}

// Run replicates every source into one new snapshot: it uploads the chunks
// the bucket lacks and then the sealed manifest. Files unchanged since the
// last snapshot (same size, mtime, inode and ctime) keep their record list
// without being read. If it fails, the chunks already uploaded stay and
// are in the local cache: the next run skips them.
func (r *Replicator) Run(ctx context.Context, sources []Source) (Stats, error) {
	var st Stats
	now, rnd := time.Now, io.Reader(rand.Reader)
	if r.Now != nil {
		now = r.Now
	}
	if r.Rand != nil {
		rnd = r.Rand
	}
	start := now()
	if err := CheckKey(ctx, r.Bucket, r.Key, true); err != nil {
		return st, err
	}
	// Shared with other runs, exclusive of a prune: the chunk cache and
	// the last snapshot's record lists stay true while this run uses them.
	l, err := takeLock(ctx, r.Bucket, lockRun, now, rnd)
	if err != nil {
		return st, fmt.Errorf("replica run: %w", err)
	}
	defer l.release(ctx)
	// The last snapshot and the chunk cache at once: each is a round trip
	// or two to the bucket, most of a no-change run's time.
	var (
		prev   *Snapshot
		prevID string
		cache  *chunkCache
		errs   [2]error
		wg     sync.WaitGroup
	)
	wg.Go(func() { prev, prevID, errs[0] = LoadSnapshot(ctx, r.Bucket, r.Key, "") })
	wg.Go(func() {
		cache, errs[1] = openCache(ctx, r.Bucket, filepath.Join(r.StateDir, bucketID(r.BucketName, "", r.Key.ID())))
	})
	wg.Wait()
	if cache != nil {
		defer cache.close()
	}
	if errs[0] != nil {
		return st, fmt.Errorf("last snapshot: %w", errs[0])
	}
	if errs[1] != nil {
		return st, errs[1]
	}
	n := r.Uploads
	if n <= 0 {
		n = 16
	}
	up := newUploader(ctx, r.Bucket, cache, n)
	snap := &Snapshot{Version: manifestVersion, Time: start.UnixNano(), KeyID: r.Key.ID()}
	for _, src := range sources {
		var old *Tree
		if prev != nil {
			old = prev.Tree(src.Name)
		}
		t, err := r.tree(src, old, up, &st)
		if err != nil {
			up.wait()
			return st, fmt.Errorf("replicate %s: %w", src.Name, err)
		}
		snap.Trees = append(snap.Trees, t)
	}
	if err := up.wait(); err != nil {
		return st, err
	}
	st.ChunksUploaded, st.BytesUploaded, st.ChunksSkipped = up.n, up.bytes, up.skipped
	data, err := SealSnapshot(r.Key, snap)
	if err != nil {
		return st, err
	}
	name, err := snapshotName(start, rnd)
	if err != nil {
		return st, err
	}
	if err := r.Bucket.Put(ctx, snapshotPrefix+name, bytes.NewReader(data), int64(len(data))); err != nil {
		return st, fmt.Errorf("put snapshot: %w", err)
	}
	st.Snapshot = name
	r.log().Info("replica snapshot written", "snapshot", name, "previous", prevID, "files", st.Files,
		"read", st.Read, "reused", st.Reused, "chunks_uploaded", st.ChunksUploaded, "bytes_uploaded", st.BytesUploaded)
	return st, nil
}

func (r *Replicator) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// tree walks one source and returns its manifest tree, sealing and
// uploading what changed since old.
func (r *Replicator) tree(src Source, old *Tree, up *uploader, st *Stats) (Tree, error) {
	t := Tree{Name: src.Name}
	prev := map[string]*Entry{}
	if old != nil {
		for i := range old.Entries {
			prev[old.Entries[i].Path] = &old.Entries[i]
		}
	}
	sp, err := chunker(r.Key)
	if err != nil {
		return t, err
	}
	sc := scan.New(src.Root, scan.Options{NoCache: true, Logger: r.Log})
	sum, err := sc.Walk("", func(e *scan.Entry) error {
		ent := Entry{Path: e.Path, Mode: e.Mode | e.Special, Mtime: e.Mtime}
		switch e.Kind {
		case scan.Dir:
			ent.Kind = KindDir
		case scan.Symlink:
			ent.Kind, ent.Target = KindSymlink, e.Target
		case scan.File:
			ent.Kind = KindFile
			st.Files++
			err := r.file(src.Root, &ent, prev[e.Path], sp, up, st)
			if errors.Is(err, errVanished) {
				st.Files--
				r.log().Debug("file vanished during the run", "tree", src.Name, "path", e.Path)
				return nil
			}
			if err != nil {
				return err
			}
		default:
			return nil
		}
		t.Entries = append(t.Entries, ent)
		return nil
	})
	if err != nil {
		return t, err
	}
	if len(sum.Unscanned) > 0 {
		return t, fmt.Errorf("could not read %d directories, the first: %w", len(sum.Unscanned), sum.Unscanned[0])
	}
	return t, nil
}

// Unchanged reports whether a file whose stat is cur may keep old's record
// list without being read: same size, mtime, inode and ctime (any write,
// truncate or utimes moves ctime).
func Unchanged(old *Entry, cur Entry) bool {
	return old != nil && old.Kind == KindFile && len(old.Chunks) > 0 &&
		old.Size == cur.Size && old.Mtime == cur.Mtime && old.Ino == cur.Ino && old.Ctime == cur.Ctime
}

// file fills ent (a regular file at ent.Path) from the last snapshot's
// entry when unchanged, and otherwise reads, seals and uploads it.
func (r *Replicator) file(root *rootfs.Root, ent *Entry, old *Entry, sp seal.Splitter, up *uploader, st *Stats) error {
	if r.beforeRead != nil {
		r.beforeRead(ent.Path)
	}
	sx, err := root.Lstat(ent.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return errVanished
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", ent.Path, err)
	}
	statInto(ent, &sx)
	if Unchanged(old, *ent) {
		ent.Chunks = old.Chunks
		st.Reused++
		return nil
	}
	f, err := root.OpenFile(ent.Path, unix.O_RDONLY, 0, false)
	if errors.Is(err, fs.ErrNotExist) {
		return errVanished
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", ent.Path, err)
	}
	defer f.Close()
	// The stat taken with the file open is what the next run compares
	// with: a write during the read moves ctime, so it is read again.
	if err := unix.Fstat(int(f.Fd()), &sx); err != nil {
		return fmt.Errorf("stat %s: %w", ent.Path, err)
	}
	statInto(ent, &sx)
	ent.Chunks = ent.Chunks[:0]
	err = r.Key.SealRecords(f, sp, func(rec seal.Record, payload []byte) error {
		ent.Chunks = append(ent.Chunks, Chunk{ID: append([]byte(nil), rec.ID[:]...), Size: rec.Size})
		if rec.Size == 8 && len(payload) == 8 {
			return nil // the end record: in the manifest only
		}
		return up.put(rec.ID, payload)
	})
	if err != nil {
		return fmt.Errorf("seal %s: %w", ent.Path, err)
	}
	st.Read++
	return nil
}

// statInto copies the fields of a file's stat that a snapshot keeps.
func statInto(ent *Entry, sx *unix.Stat_t) {
	ent.Size = sx.Size
	ent.Mtime = sx.Mtim.Nano()
	ent.Ctime = sx.Ctim.Nano()
	ent.Ino = sx.Ino
	ent.Mode = sx.Mode & 0o7777
}

// uploader puts chunks with a few goroutines, each chunk once.
type uploader struct {
	ctx     context.Context
	b       Bucket
	cache   *chunkCache
	jobs    chan job
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	n       int
	bytes   int64
	skipped int
	closed  bool
}

type job struct {
	name string
	id   [seal.IDSize]byte
	data []byte
}

func newUploader(ctx context.Context, b Bucket, c *chunkCache, n int) *uploader {
	// Unbuffered: at most n chunks (of up to 4 MiB) are held for upload,
	// and one more being sealed.
	u := &uploader{ctx: ctx, b: b, cache: c, jobs: make(chan job)}
	for range n {
		u.wg.Go(u.work)
	}
	return u
}

// put queues a chunk unless the bucket has it; payload is copied. It
// returns the first upload error, which stops the run.
func (u *uploader) put(id [seal.IDSize]byte, payload []byte) error {
	if err := u.failure(); err != nil {
		return err
	}
	name := seal.ObjectName(id)
	if !u.cache.claim(name) {
		u.mu.Lock()
		u.skipped++
		u.mu.Unlock()
		return nil
	}
	u.jobs <- job{name: name, id: id, data: append([]byte(nil), payload...)}
	return nil
}

func (u *uploader) work() {
	for j := range u.jobs {
		if u.failure() != nil {
			u.cache.failed(j.name)
			continue
		}
		err := u.b.Put(u.ctx, chunkKey(j.id), bytes.NewReader(j.data), int64(len(j.data)))
		if err == nil {
			err = u.cache.done(j.name)
		} else {
			u.cache.failed(j.name)
		}
		u.mu.Lock()
		if err != nil && u.err == nil {
			u.err = fmt.Errorf("upload chunk: %w", err)
		} else if err == nil {
			u.n++
			u.bytes += int64(len(j.data))
		}
		u.mu.Unlock()
	}
}

func (u *uploader) failure() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// wait lets the queued uploads finish and returns the first error.
func (u *uploader) wait() error {
	if !u.closed {
		u.closed = true
		close(u.jobs)
	}
	u.wg.Wait()
	return u.failure()
}
