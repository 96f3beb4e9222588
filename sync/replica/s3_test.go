package replica

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"simplecloud/internal/testutil"
	"simplecloud/sync/seal"
)

// TestS3Replica runs the replica against a real Ceph RGW: first run,
// no-change run, a changed file, restore, no plaintext in the bucket, a
// wrong key, an interrupted run resumed, tampering caught by verify and
// restore.
func TestS3Replica(t *testing.T) {
	s3, _ := newS3Bucket(t)
	ctx := context.Background()
	b := &countingBucket{Bucket: s3}
	src := t.TempDir()
	makeTree(t, src)
	key := newKey(t, 0x42)
	state := t.TempDir()
	rep := &Replicator{Bucket: b, Key: key, StateDir: state, BucketName: "test"}
	sources := []Source{{Name: "alice", Root: openRoot(t, src)}}

	var first Stats
	testutil.Step(t, "first run uploads every chunk", func(t *testing.T) {
		st, err := rep.Run(ctx, sources)
		if err != nil {
			t.Fatal(err)
		}
		first = st
		// 16 MiB of random data cut at 512 KiB..4 MiB: at least 4 chunks; 2 small files.
		if st.Files != 4 || st.Read != 4 || st.ChunksUploaded < 6 {
			t.Fatalf("got %+v, want 4 files read and at least 6 chunks uploaded", st)
		}
		// The marker, the run's lock, each chunk, the snapshot.
		if b.puts != st.ChunksUploaded+3 {
			t.Fatalf("got %d puts, want %d", b.puts, st.ChunksUploaded+3)
		}
	})
	testutil.Step(t, "a no-change run uploads only its snapshot and asks nothing per chunk", func(t *testing.T) {
		b.reset()
		st, err := rep.Run(ctx, sources)
		if err != nil {
			t.Fatal(err)
		}
		if st.Read != 0 || st.Reused != 4 || st.ChunksUploaded != 0 {
			t.Fatalf("got %+v, want nothing read, 4 reused, no chunk uploaded", st)
		}
		if b.puts != 2 || b.exists != 0 {
			t.Fatalf("got %d puts and %d HEADs, want 2 puts (the lock and the snapshot) and none", b.puts, b.exists)
		}
	})
	testutil.Step(t, "a changed file uploads only its new chunks", func(t *testing.T) {
		p := filepath.Join(src, "Documents-9b1c/tax-return-secret.pdf")
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("appended tail\n")
		f.Close()
		b.reset()
		st, err := rep.Run(ctx, sources)
		if err != nil {
			t.Fatal(err)
		}
		if st.Read != 1 || st.Reused != 3 {
			t.Fatalf("got %+v, want 1 file read and 3 reused", st)
		}
		if st.ChunksUploaded < 1 || st.ChunksUploaded >= first.ChunksUploaded-3 || st.ChunksSkipped < 1 {
			t.Fatalf("got %d chunks uploaded, %d skipped; want the last chunk or two of the file only (first run: %d)", st.ChunksUploaded, st.ChunksSkipped, first.ChunksUploaded)
		}
	})
	testutil.Step(t, "restore into an empty directory gives the same tree", func(t *testing.T) {
		snap, _, err := LoadSnapshot(ctx, b, key, "")
		if err != nil {
			t.Fatal(err)
		}
		to := t.TempDir()
		if err := (&Restorer{Bucket: b, Key: key}).Restore(ctx, snap, "alice", to); err != nil {
			t.Fatal(err)
		}
		got, want := treeState(t, filepath.Join(to, "alice")), treeState(t, src)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("restored tree:\n got %v\nwant %v", got, want)
		}
		err = (&Restorer{Bucket: b, Key: key}).Restore(ctx, snap, "alice", to)
		if !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("restore into a non-empty target: got %v, want ErrNotEmpty", err)
		}
	})
	testutil.Step(t, "the bucket holds no plaintext", func(t *testing.T) {
		n := 0
		err := s3.List(ctx, "", func(k string, _ int64) error {
			data, err := s3.Get(ctx, k)
			if err != nil {
				return err
			}
			n++
			for _, s := range append(secrets, "alice") {
				if strings.Contains(k, s) || bytes.Contains(data, []byte(s)) {
					t.Errorf("object %s holds plaintext %q", k, s)
				}
			}
			return nil
		})
		if err != nil || n < 8 {
			t.Fatalf("listed %d objects (%v)", n, err)
		}
	})
	testutil.Step(t, "a wrong key gets a clear error", func(t *testing.T) {
		other := newKey(t, 0x43)
		_, err := (&Replicator{Bucket: b, Key: other, StateDir: t.TempDir()}).Run(ctx, sources)
		if !errors.Is(err, seal.ErrWrongKey) || !strings.Contains(err.Error(), key.ID()) {
			t.Fatalf("run with another key: got %v, want ErrWrongKey naming %s", err, key.ID())
		}
		if _, _, err := LoadSnapshot(ctx, b, other, ""); !errors.Is(err, seal.ErrAuth) {
			t.Fatalf("open a snapshot with another key: got %v, want ErrAuth", err)
		}
	})
	testutil.Step(t, "an interrupted run is resumed without uploading twice", func(t *testing.T) {
		big := make([]byte, 12<<20) // three chunks or more
		rand.NewChaCha8([32]byte{9}).Read(big)
		if err := os.WriteFile(filepath.Join(src, "new.bin"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		b.reset()
		b.failAfter = 3 // the lock and two chunks
		_, err := rep.Run(ctx, sources)
		b.failAfter = 0
		if !errors.Is(err, errInjected) {
			t.Fatalf("interrupted run: got %v, want the injected failure", err)
		}
		done := b.puts - 1
		b.reset()
		st, err := rep.Run(ctx, sources)
		if err != nil {
			t.Fatal(err)
		}
		if st.ChunksSkipped < done || st.ChunksUploaded == 0 {
			t.Fatalf("resumed run: got %+v, want at least the %d chunks put before skipped and the rest uploaded", st, done)
		}
		// A lost cache is rebuilt by listing: nothing is uploaded again.
		if err := os.RemoveAll(state); err != nil {
			t.Fatal(err)
		}
		b.reset()
		st, err = rep.Run(ctx, sources)
		if err != nil || st.ChunksUploaded != 0 || !slices.Contains(b.listed, chunkPrefix) {
			t.Fatalf("run without a cache: got %+v, listed %q, %v; want no upload after a listing of %s", st, b.listed, err, chunkPrefix)
		}
	})
	testutil.Step(t, "prune deletes dropped snapshots and their chunks through S3", func(t *testing.T) {
		ids, _ := Snapshots(ctx, b)
		// Two days on, the runs of these minutes share one day bucket: the
		// newest stays.
		p := &Pruner{Bucket: b, Key: key, StateDir: state, BucketName: "test", Now: func() time.Time { return time.Now().Add(48 * time.Hour) }}
		st, err := p.Prune(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		left, _ := Snapshots(ctx, b)
		if len(ids) < 2 || len(st.DroppedIDs) != len(ids)-1 || len(left) != 1 || left[0] != ids[len(ids)-1] {
			t.Fatalf("snapshots %v, dropped %v, left %v; want only the newest left", ids, st.DroppedIDs, left)
		}
		if st.ChunksDeleted == 0 {
			t.Fatalf("got %+v, want the changed file's old chunks deleted", st)
		}
		var locks []string
		b.List(ctx, lockPrefix, func(k string, _ int64) error { locks = append(locks, k); return nil })
		if len(locks) != 0 {
			t.Fatalf("locks left: %v", locks)
		}
		snap, _, err := LoadSnapshot(ctx, b, key, "")
		if err != nil {
			t.Fatal(err)
		}
		if probs, err := Verify(ctx, b, key, snap); err != nil || len(probs) != 0 {
			t.Fatalf("verify after prune: %v, %v", probs, err)
		}
	})
	testutil.Step(t, "tampering is caught by verify and by restore", func(t *testing.T) {
		snap, _, err := LoadSnapshot(ctx, b, key, "")
		if err != nil {
			t.Fatal(err)
		}
		if probs, err := Verify(ctx, b, key, snap); err != nil || len(probs) != 0 {
			t.Fatalf("verify before tampering: %v, %v", probs, err)
		}
		var victim *Entry
		for i, e := range snap.Trees[0].Entries {
			if e.Path == "quarterly-report-7f3a.txt" {
				victim = &snap.Trees[0].Entries[i]
			}
		}
		recs, _ := victim.Records()
		obj := chunkKey(recs[0].ID)
		data, err := s3.Get(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 1
		if err := s3.Put(ctx, obj, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		probs, err := Verify(ctx, b, key, snap)
		if err != nil || len(probs) != 1 || probs[0].Path != victim.Path || probs[0].Object != obj || !errors.Is(probs[0].Err, seal.ErrAuth) {
			t.Fatalf("verify after tampering with %s: got %v, %v; want one authentication problem naming it", obj, probs, err)
		}
		to := t.TempDir()
		err = (&Restorer{Bucket: b, Key: key}).Restore(ctx, snap, "", to)
		if !errors.Is(err, seal.ErrAuth) || !strings.Contains(err.Error(), victim.Path) {
			t.Fatalf("restore after tampering: got %v, want ErrAuth naming %s", err, victim.Path)
		}
		left, _ := filepath.Glob(filepath.Join(to, "alice", "*"))
		for _, p := range left {
			if b := filepath.Base(p); b == victim.Path || strings.HasPrefix(b, ".restore-") {
				t.Errorf("restore left %s behind", p)
			}
		}
	})
}

// TestS3Multipart puts an object larger than a part (a big manifest) and
// reads it back: it goes up in parts, as its ETag ("...-N") shows.
func TestS3Multipart(t *testing.T) {
	s3, _ := newS3Bucket(t)
	ctx := context.Background()
	data := make([]byte, 2*partSize+12345)
	for i := range data {
		data[i] = byte(i * 31 >> 7)
	}
	if err := s3.Put(ctx, "snapshots/big", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	info, err := s3.c.StatObject(ctx, s3.bucket, "snapshots/big", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Fatalf("ETag %q: want a multipart upload of 3 parts", info.ETag)
	}
	got, err := s3.Get(ctx, "snapshots/big")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want the %d put", len(got), err, len(data))
	}
	if ok, err := s3.Exists(ctx, "snapshots/big"); !ok || err != nil {
		t.Fatalf("Exists: %v %v", ok, err)
	}
	if ok, err := s3.Exists(ctx, "snapshots/none"); ok || err != nil {
		t.Fatalf("Exists of a missing object: %v %v", ok, err)
	}
	if _, err := s3.Get(ctx, "snapshots/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing object: got %v, want ErrNotFound", err)
	}
	if err := s3.Delete(ctx, "snapshots/big"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s3.Exists(ctx, "snapshots/big"); ok {
		t.Fatal("deleted object still there")
	}
}
