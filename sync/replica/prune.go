package replica

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"simplecloud/sync/seal"
	"simplecloud/sync/versions"
)

// Pruner thins a bucket's snapshots out on the staggered schedule of the
// sync's versions (every snapshot for an hour, then one an hour for a day,
// one a day for 30 days and one a week after that; the latest always) and
// deletes the chunks no kept snapshot refers to.
type Pruner struct {
	Bucket Bucket
	Key    *seal.Key
	// StateDir and BucketName find the local chunk cache, as the
	// Replicator's do; prune takes the deleted chunks out of it.
	StateDir   string
	BucketName string
	Log        *slog.Logger
	// Deletes is how many objects are deleted at once (default 16).
	Deletes int
	// Now and Rand (defaults time.Now, crypto/rand) date the schedule and
	// name the lock.
	Now  func() time.Time
	Rand io.Reader
}

// PruneStats say what a prune did, or would do on a dry run.
type PruneStats struct {
	Snapshots      int      // snapshots before
	DroppedIDs     []string // snapshots deleted, oldest first
	Chunks         int      // chunk objects before
	ChunksDeleted  int
	BytesDeleted   int64
	Generation     string // the bucket's prune generation after (empty on a dry run)
	UnknownObjects int    // objects under snapshots/ whose names are not a snapshot's: kept
}

// Prune deletes the snapshots the schedule drops and then every chunk no
// remaining snapshot refers to. It holds the bucket's exclusive lock, so
// no run is in progress while chunks go. Every kept snapshot is read
// first: if one cannot be opened, nothing is deleted. A dry run takes no
// lock and deletes nothing.
func (p *Pruner) Prune(ctx context.Context, dryRun bool) (PruneStats, error) {
	var st PruneStats
	now, rnd := time.Now, io.Reader(rand.Reader)
	if p.Now != nil {
		now = p.Now
	}
	if p.Rand != nil {
		rnd = p.Rand
	}
	if err := CheckKey(ctx, p.Bucket, p.Key, false); err != nil {
		return st, err
	}
	if !dryRun {
		l, err := takeLock(ctx, p.Bucket, lockPrune, now, rnd)
		if err != nil {
			return st, fmt.Errorf("prune: %w", err)
		}
		defer l.release(ctx)
	}
	ids, err := Snapshots(ctx, p.Bucket)
	if err != nil {
		return st, fmt.Errorf("list snapshots: %w", err)
	}
	st.Snapshots = len(ids)
	keep, drop := p.schedule(ids, now(), &st)
	refs := map[string]bool{}
	for _, id := range keep {
		snap, _, err := LoadSnapshot(ctx, p.Bucket, p.Key, id)
		if err != nil {
			return st, fmt.Errorf("prune: nothing deleted: %w", err)
		}
		addRefs(refs, snap)
	}
	var garbage []string
	sizes := map[string]int64{}
	if err := p.Bucket.List(ctx, chunkPrefix, func(key string, size int64) error {
		st.Chunks++
		if !refs[strings.TrimPrefix(key, chunkPrefix)] {
			garbage = append(garbage, key)
			sizes[key] = size
			st.BytesDeleted += size
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("list chunks: %w", err)
	}
	st.DroppedIDs, st.ChunksDeleted = drop, len(garbage)
	if dryRun {
		return st, nil
	}
	// Snapshots first: a prune cut short leaves chunks nobody refers to,
	// never a snapshot whose chunks are gone.
	for _, id := range drop {
		if err := p.Bucket.Delete(ctx, snapshotPrefix+id); err != nil {
			return st, fmt.Errorf("delete snapshot %s: %w", id, err)
		}
	}
	if err := p.deleteAll(ctx, garbage); err != nil {
		return st, err
	}
	gen, err := newGeneration(ctx, p.Bucket, rnd)
	if err != nil {
		return st, err
	}
	st.Generation = gen
	if err := forgetChunks(filepath.Join(p.StateDir, bucketID(p.BucketName, "", p.Key.ID())), garbage, gen); err != nil {
		return st, err
	}
	p.log().Info("replica pruned", "snapshots_deleted", len(drop), "snapshots_kept", len(keep),
		"chunks_deleted", len(garbage), "bytes_deleted", st.BytesDeleted, "generation", gen)
	return st, nil
}

// schedule splits snapshot ids into those to keep and those to drop. A
// name that does not parse as a snapshot's is kept and counted.
func (p *Pruner) schedule(ids []string, now time.Time, st *PruneStats) (keep, drop []string) {
	var named []string
	var times []time.Time
	for _, id := range ids {
		t, err := time.Parse(snapshotTime, strings.SplitN(id, "-", 2)[0])
		if err != nil {
			st.UnknownObjects++
			keep = append(keep, id)
			continue
		}
		named, times = append(named, id), append(times, t)
	}
	for i, d := range versions.Staggered(times, now) {
		if d {
			drop = append(drop, named[i])
		} else {
			keep = append(keep, named[i])
		}
	}
	return keep, drop
}

// addRefs adds the object names of every chunk snap's files use (all
// records but the end record, which is not an object).
func addRefs(refs map[string]bool, snap *Snapshot) {
	for _, t := range snap.Trees {
		for _, e := range t.Entries {
			for i, c := range e.Chunks {
				if i == len(e.Chunks)-1 || len(c.ID) != seal.IDSize {
					continue
				}
				var id [seal.IDSize]byte
				copy(id[:], c.ID)
				refs[seal.ObjectName(id)] = true
			}
		}
	}
}

// deleteAll deletes keys, Deletes at a time, and stops at the first error.
func (p *Pruner) deleteAll(ctx context.Context, keys []string) error {
	n := p.Deletes
	if n <= 0 {
		n = 16
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range jobs {
				if err := p.Bucket.Delete(ctx, key); err != nil {
					cancel(fmt.Errorf("delete %s: %w", key, err))
				}
			}
		}()
	}
feed:
	for _, key := range keys {
		select {
		case jobs <- key:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

func (p *Pruner) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
