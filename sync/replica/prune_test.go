package replica

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// pruneFixture is a tree replicated at chosen times into a bucket in
// memory, by two servers (each with its own chunk cache).
type pruneFixture struct {
	t        *testing.T
	ctx      context.Context
	mem      *memBucket
	src      string
	rep, two *Replicator
	now      time.Time
}

func newPruneFixture(t *testing.T) *pruneFixture {
	f := &pruneFixture{t: t, ctx: context.Background(), mem: newMemBucket(), src: t.TempDir(),
		now: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	k := newKey(t, 7)
	clock := func() time.Time { return f.now }
	f.rep = &Replicator{Bucket: f.mem, Key: k, StateDir: t.TempDir(), BucketName: "b", Now: clock}
	f.two = &Replicator{Bucket: f.mem, Key: k, StateDir: t.TempDir(), BucketName: "b", Now: clock}
	return f
}

// randomFile writes size random bytes (its own chunks) drawn from seed.
func (f *pruneFixture) randomFile(name string, seed uint64, size int) []byte {
	f.t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(f.src, name), data, 0o644); err != nil {
		f.t.Fatal(err)
	}
	return data
}

func (f *pruneFixture) run(r *Replicator, at time.Time) Stats {
	f.t.Helper()
	f.now = at
	st, err := r.Run(f.ctx, []Source{{Name: "alice", Root: openRoot(f.t, f.src)}})
	if err != nil {
		f.t.Fatalf("run at %v: %v", at, err)
	}
	return st
}

func (f *pruneFixture) pruner(at time.Time) *Pruner {
	f.now = at
	return &Pruner{Bucket: f.mem, Key: f.rep.Key, StateDir: f.rep.StateDir, BucketName: "b", Now: func() time.Time { return f.now }}
}

func (f *pruneFixture) objects(prefix string) map[string]bool {
	m := map[string]bool{}
	f.mem.List(f.ctx, prefix, func(k string, _ int64) error { m[k] = true; return nil })
	return m
}

// verifyLatest checks that every object of the latest snapshot is there
// and authenticates.
func (f *pruneFixture) verifyLatest() {
	f.t.Helper()
	snap, id, err := LoadSnapshot(f.ctx, f.mem, f.rep.Key, "")
	if err != nil {
		f.t.Fatal(err)
	}
	if probs, err := Verify(f.ctx, f.mem, f.rep.Key, snap); err != nil || len(probs) > 0 {
		f.t.Fatalf("verify %s: %v %v", id, probs, err)
	}
}

// TestPrune: snapshots thinned on the staggered schedule, the chunks only
// dropped snapshots used deleted, and both servers' chunk caches told, so
// that content which comes back is uploaded again rather than assumed.
func TestPrune(t *testing.T) {
	f := newPruneFixture(t)
	t0 := f.now
	f.randomFile("keep.bin", 1, 300<<10)
	f.randomFile("gone.bin", 2, 300<<10)
	f.randomFile("gone2.bin", 6, 300<<10)
	f.run(f.rep, t0)
	f.run(f.two, t0.Add(10*time.Minute))
	for _, n := range []string{"gone.bin", "gone2.bin"} {
		if err := os.Remove(filepath.Join(f.src, n)); err != nil {
			t.Fatal(err)
		}
	}
	f.run(f.rep, t0.Add(20*time.Minute))
	chunksBefore := f.objects(chunkPrefix)

	later := t0.Add(5 * time.Hour)
	testutil.Step(t, "a dry run reports and deletes nothing", func(t *testing.T) {
		before := len(f.mem.m)
		st, err := f.pruner(later).Prune(f.ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if st.Snapshots != 3 || len(st.DroppedIDs) != 2 || st.ChunksDeleted == 0 || st.Generation != "" {
			t.Fatalf("got %+v, want 3 snapshots, 2 dropped, chunks to delete, no generation", st)
		}
		if len(f.mem.m) != before {
			t.Fatalf("the dry run changed the bucket: %d objects, were %d", len(f.mem.m), before)
		}
	})
	var st PruneStats
	testutil.Step(t, "the hour keeps its newest snapshot and the chunks it uses", func(t *testing.T) {
		var err error
		st, err = f.pruner(later).Prune(f.ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := Snapshots(f.ctx, f.mem)
		if len(ids) != 1 || !strings.HasPrefix(ids[0], t0.Add(20*time.Minute).Format(snapshotTime)) {
			t.Fatalf("snapshots left %v, want the one of %v", ids, t0.Add(20*time.Minute))
		}
		after := f.objects(chunkPrefix)
		if len(after) == 0 || len(after)+st.ChunksDeleted != len(chunksBefore) || st.ChunksDeleted == 0 {
			t.Fatalf("%d chunks before, %d after, %d deleted", len(chunksBefore), len(after), st.ChunksDeleted)
		}
		if len(f.objects(lockPrefix)) != 0 {
			t.Fatalf("locks left: %v", f.objects(lockPrefix))
		}
		f.verifyLatest()
	})
	testutil.Step(t, "deleted content that comes back is uploaded again, by either server", func(t *testing.T) {
		f.randomFile("gone.bin", 2, 300<<10)
		st1 := f.run(f.rep, later.Add(time.Minute))
		if st1.ChunksUploaded == 0 {
			t.Fatalf("got %+v: the pruning server's cache still claimed the deleted chunks", st1)
		}
		f.verifyLatest()
		// The other server's cache predates the prune: it lists the bucket
		// again rather than trust it.
		f.randomFile("gone2.bin", 6, 300<<10)
		st2 := f.run(f.two, later.Add(6*time.Hour))
		if st2.ChunksUploaded == 0 {
			t.Fatalf("got %+v: the other server trusted its cache across a prune", st2)
		}
		f.verifyLatest()
	})
}

// TestPruneLocks: a prune waits for no run and a run for no prune: each
// refuses while the other holds a live lock, and a stale lock is ignored.
func TestPruneLocks(t *testing.T) {
	f := newPruneFixture(t)
	f.randomFile("a.bin", 3, 100<<10)
	f.run(f.rep, f.now)
	clock := func() time.Time { return f.now }
	held, err := takeLock(f.ctx, f.mem, lockRun, clock, strings.NewReader(strings.Repeat("r", 8)))
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.mem.m)
	if _, err := f.pruner(f.now.Add(time.Minute)).Prune(f.ctx, false); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "a replica run holds it") {
		t.Fatalf("prune beside a run: got %v, want ErrLocked naming the run", err)
	}
	if len(f.mem.m) != before {
		t.Fatalf("a refused prune changed the bucket")
	}
	// Another run may share the bucket with it.
	f.run(f.two, f.now.Add(2*time.Minute))
	// The holder died: 31 minutes without renewal and the lock is stale.
	if _, err := f.pruner(f.now.Add(31*time.Minute)).Prune(f.ctx, false); err != nil {
		t.Fatalf("prune beside a stale lock: %v", err)
	}
	held.release(f.ctx)

	pl, err := takeLock(f.ctx, f.mem, lockPrune, clock, strings.NewReader(strings.Repeat("p", 8)))
	if err != nil {
		t.Fatal(err)
	}
	defer pl.release(f.ctx)
	_, err = f.rep.Run(f.ctx, []Source{{Name: "alice", Root: openRoot(t, f.src)}})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "a prune holds it") {
		t.Fatalf("run beside a prune: got %v, want ErrLocked naming the prune", err)
	}
}

// TestPruneUnreadable: a kept snapshot that does not open stops the prune
// before anything is deleted.
func TestPruneUnreadable(t *testing.T) {
	f := newPruneFixture(t)
	f.randomFile("a.bin", 4, 200<<10)
	f.run(f.rep, f.now)
	f.randomFile("a.bin", 5, 200<<10)
	f.run(f.rep, f.now.Add(2*time.Hour))
	ids, _ := Snapshots(f.ctx, f.mem)
	last := snapshotPrefix + ids[len(ids)-1]
	f.mem.m[last][len(f.mem.m[last])/2] ^= 1
	before := len(f.mem.m)
	_, err := f.pruner(f.now.Add(time.Hour)).Prune(f.ctx, false)
	if err == nil || !strings.Contains(err.Error(), "nothing deleted") {
		t.Fatalf("got %v, want an error saying nothing was deleted", err)
	}
	if len(f.mem.m) != before {
		t.Fatalf("got %d objects, want the %d before", len(f.mem.m), before)
	}
}
