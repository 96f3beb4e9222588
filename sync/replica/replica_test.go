package replica

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
	"simplecloud/sync/seal"
)

func TestSnapshotRoundTrip(t *testing.T) {
	k := newKey(t, 1)
	s := &Snapshot{Version: manifestVersion, Time: 123, KeyID: k.ID(), Trees: []Tree{{Name: "alice:Docs", Entries: []Entry{
		{Path: "a", Kind: KindDir, Mode: 0o755, Mtime: 5},
		{Path: "a/secret-name.txt", Kind: KindFile, Mode: 0o4640, Mtime: 6, Size: 3, Ino: 9, Ctime: 7,
			Chunks: []Chunk{{ID: bytes.Repeat([]byte{1}, 32), Size: 19}, {ID: bytes.Repeat([]byte{2}, 32), Size: 8}}},
		{Path: "l", Kind: KindSymlink, Target: "a/secret-name.txt"},
	}}}}
	data, err := SealSnapshot(k, s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("secret-name")) || bytes.Contains(data, []byte("alice")) {
		t.Fatal("sealed snapshot holds plaintext")
	}
	got, err := OpenSnapshot(k, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("got %+v, want %+v", got, s)
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x80
		if _, err := OpenSnapshot(k, bad); err == nil {
			t.Fatalf("byte %d flipped: opened without error", i)
		}
	}
	if _, err := OpenSnapshot(newKey(t, 2), data); !errors.Is(err, seal.ErrAuth) {
		t.Fatalf("another key: got %v, want ErrAuth", err)
	}
}

func TestUnchanged(t *testing.T) {
	old := &Entry{Kind: KindFile, Size: 10, Mtime: 20, Ino: 30, Ctime: 40, Chunks: []Chunk{{}}}
	cur := Entry{Kind: KindFile, Size: 10, Mtime: 20, Ino: 30, Ctime: 40}
	cases := []struct {
		name string
		old  *Entry
		cur  func(e *Entry)
		want bool
	}{
		{"same", old, func(*Entry) {}, true},
		{"new file", nil, func(*Entry) {}, false},
		{"size", old, func(e *Entry) { e.Size++ }, false},
		{"mtime", old, func(e *Entry) { e.Mtime++ }, false},
		{"inode (replaced by rename)", old, func(e *Entry) { e.Ino++ }, false},
		{"ctime (rewritten, mtime set back)", old, func(e *Entry) { e.Ctime++ }, false},
		{"was a directory", &Entry{Kind: KindDir, Size: 10, Mtime: 20, Ino: 30, Ctime: 40}, func(*Entry) {}, false},
		{"no record list", &Entry{Kind: KindFile, Size: 10, Mtime: 20, Ino: 30, Ctime: 40}, func(*Entry) {}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := cur
			c.cur(&e)
			if got := Unchanged(c.old, e); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestSelectedAndTreeDir(t *testing.T) {
	cases := []struct {
		name, sel string
		want      bool
	}{
		{"alice", "", true}, {"alice", "alice", true}, {"alice:Docs", "alice", true},
		{"alice:Docs", "alice:Docs", true}, {"alice:Docs", "alice:Music", false},
		{"alicia", "alice", false}, {"alice", "alice:Docs", false},
	}
	for _, c := range cases {
		if got := Selected(c.name, c.sel); got != c.want {
			t.Errorf("Selected(%q, %q): got %v, want %v", c.name, c.sel, got, c.want)
		}
	}
	if got, want := TreeDir("/r", "alice:Docs/2024"), filepath.FromSlash("/r/alice/Docs/2024"); got != want {
		t.Errorf("TreeDir: got %s, want %s", got, want)
	}
}

func TestSnapshotNamesSort(t *testing.T) {
	a, _ := snapshotName(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), bytes.NewReader([]byte{9, 9, 9, 9}))
	b, _ := snapshotName(time.Date(2026, 1, 2, 3, 4, 5, 7, time.FixedZone("x", 3600)), bytes.NewReader([]byte{0, 0, 0, 0}))
	if a != "20260102T030405.000000006Z-09090909" {
		t.Errorf("got %s", a)
	}
	if b >= a {
		t.Errorf("a later time in another zone sorts first: %s >= %s", b, a)
	}
}

// TestRunMemory plans against an in-memory bucket: dedup of equal files,
// a second run reading nothing, the chunk cache rebuilt by listing.
func TestRunMemory(t *testing.T) {
	ctx := context.Background()
	mem := newMemBucket()
	b := &countingBucket{Bucket: mem}
	src := t.TempDir()
	makeTree(t, src)
	k := newKey(t, 3)
	rep := &Replicator{Bucket: b, Key: k, StateDir: t.TempDir()}
	srcs := []Source{{Name: "bob", Root: openRoot(t, src)}}
	st, err := rep.Run(ctx, srcs)
	if err != nil {
		t.Fatal(err)
	}
	chunks := 0
	mem.List(ctx, chunkPrefix, func(string, int64) error { chunks++; return nil })
	if st.ChunksUploaded != chunks {
		t.Fatalf("got %d chunks uploaded, %d in the bucket", st.ChunksUploaded, chunks)
	}
	b.reset()
	st, err = rep.Run(ctx, srcs)
	if err != nil || st.Read != 0 || b.puts != 2 { // the run's lock and the snapshot
		t.Fatalf("second run: %+v, %d puts, %v", st, b.puts, err)
	}
	ids, _ := Snapshots(ctx, b)
	if len(ids) != 2 || !strings.HasSuffix(ids[1], st.Snapshot) {
		t.Fatalf("snapshots %v, want 2 ending with %s", ids, st.Snapshot)
	}
	snap, _, err := LoadSnapshot(ctx, b, k, "")
	if err != nil {
		t.Fatal(err)
	}
	probs, err := Verify(ctx, b, k, snap)
	if err != nil || len(probs) != 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
	// A chunk gone from the bucket is named by verify.
	var gone string
	mem.List(ctx, chunkPrefix, func(k string, _ int64) error { gone = k; return nil })
	mem.Delete(ctx, gone)
	probs, _ = Verify(ctx, b, k, snap)
	if len(probs) == 0 || probs[0].Object != gone || !errors.Is(probs[0].Err, ErrNotFound) {
		t.Fatalf("verify with %s deleted: got %v", gone, probs)
	}
}

// TestRestoreOwner restores as root for a user: every entry is the user's,
// and a setuid file keeps its bit.
func TestRestoreOwner(t *testing.T) {
	testutil.NeedRoot(t)
	ctx := context.Background()
	mem := newMemBucket()
	src := t.TempDir()
	makeTree(t, src)
	suid := filepath.Join(src, "script.sh")
	if err := os.Chmod(suid, 0o4755); err != nil {
		t.Fatal(err)
	}
	k := newKey(t, 4)
	if _, err := (&Replicator{Bucket: mem, Key: k, StateDir: t.TempDir()}).Run(ctx, []Source{{Name: "carol", Root: openRoot(t, src)}}); err != nil {
		t.Fatal(err)
	}
	snap, _, err := LoadSnapshot(ctx, mem, k, "")
	if err != nil {
		t.Fatal(err)
	}
	to := t.TempDir()
	owner := func(tree string) (int, int, bool) { return 4321, 4322, tree == "carol" }
	if err := (&Restorer{Bucket: mem, Key: k, Owner: owner}).Restore(ctx, snap, "", to); err != nil {
		t.Fatal(err)
	}
	if got, want := treeState(t, filepath.Join(to, "carol")), treeState(t, src); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored tree:\n got %v\nwant %v", got, want)
	}
	err = filepath.Walk(filepath.Join(to, "carol"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Uid != 4321 || st.Gid != 4322 {
			t.Errorf("%s: owned by %d:%d, want 4321:4322", p, st.Uid, st.Gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRunVanished: a file removed between the walk and its read is left
// out of the snapshot; the run goes on.
func TestRunVanished(t *testing.T) {
	ctx := context.Background()
	mem := newMemBucket()
	src := t.TempDir()
	makeTree(t, src)
	k := newKey(t, 5)
	rep := &Replicator{Bucket: mem, Key: k, StateDir: t.TempDir(), beforeRead: func(p string) {
		if p == "script.sh" {
			os.Remove(filepath.Join(src, p))
		}
	}}
	st, err := rep.Run(ctx, []Source{{Name: "dave", Root: openRoot(t, src)}})
	if err != nil || st.Files != 3 || st.Read != 3 {
		t.Fatalf("got %+v, %v; want 3 files read and no error", st, err)
	}
	snap, _, err := LoadSnapshot(ctx, mem, k, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range snap.Trees[0].Entries {
		if e.Path == "script.sh" {
			t.Fatalf("the vanished file is in the snapshot: %+v", e)
		}
	}
}
