package client

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// fullLister hides the digest listing: a Remote that lists in full.
type fullLister struct{ Remote }

// countingLister counts what a digest listing sends.
type countingLister struct {
	digestLister
	entries, same int
}

func (c *countingLister) ListDigests(ctx context.Context, p string, h proto.HashMode, dirs []proto.DirSum, fn func([]proto.Entry, []uint32) error) error {
	return c.digestLister.ListDigests(ctx, p, h, dirs, func(es []proto.Entry, ss []uint32) error {
		c.entries += len(es)
		c.same += len(ss)
		return fn(es, ss)
	})
}

// TestListDigestsEngine syncs a tree, changes the server's copy in one
// way at a time, and checks that the server's tree rebuilt from a digest
// listing against the last agreed state is exactly the one a full listing
// gives, and that the unchanged directories were not sent.
func TestListDigestsEngine(t *testing.T) {
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	cases := []struct {
		name   string
		change func(srv string)
		sent   int // entries the listing sends: the folder's own, those of changed directories
	}{
		{"nothing", func(string) {}, 1},
		{"content", func(s string) { os.WriteFile(filepath.Join(s, "a/x"), []byte("X"), 0) }, 4},
		{"content alone", func(s string) {
			st, _ := os.Stat(filepath.Join(s, "a/x"))
			os.WriteFile(filepath.Join(s, "a/x"), []byte("X"), 0)
			os.Chtimes(filepath.Join(s, "a/x"), st.ModTime(), st.ModTime())
		}, 4},
		{"renamed", func(s string) { os.Rename(filepath.Join(s, "a/x"), filepath.Join(s, "a/w")) }, 4},
		{"mtime only", func(s string) { os.Chtimes(filepath.Join(s, "a/x"), mtime, mtime) }, 4},
		{"mode only", func(s string) { os.Chmod(filepath.Join(s, "a/sub/z"), 0o600) }, 2},
		{"dir mode", func(s string) { os.Chmod(filepath.Join(s, "a/sub"), 0o700) }, 4},
		{"new file", func(s string) { os.WriteFile(filepath.Join(s, "b/new"), nil, 0o644) }, 4},
		{"deleted file", func(s string) { os.Remove(filepath.Join(s, "b/w")) }, 2},
		{"deleted dir", func(s string) { os.RemoveAll(filepath.Join(s, "e")) }, 6},
		{"file to dir", func(s string) {
			os.Remove(filepath.Join(s, "a/x"))
			os.Mkdir(filepath.Join(s, "a/x"), 0o755)
		}, 4},
		{"link target", func(s string) {
			os.Remove(filepath.Join(s, "b/link"))
			os.Symlink("v", filepath.Join(s, "b/link")) // as long as the old
		}, 3},
		{"new empty dir", func(s string) { os.Mkdir(filepath.Join(s, "c/new"), 0o755) }, 2},
		{"emptied dir", func(s string) { os.Remove(filepath.Join(s, "e/q")) }, 1},
		{"deep change", func(s string) { os.WriteFile(filepath.Join(s, "g/h/k"), []byte("K"), 0) }, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			write(t, filepath.Join(p.local, "f1"), "top")
			write(t, filepath.Join(p.local, "a/x"), "x")
			write(t, filepath.Join(p.local, "a/y"), "y")
			write(t, filepath.Join(p.local, "a/sub/z"), "z")
			write(t, filepath.Join(p.local, "b/w"), "w")
			os.Symlink("w", filepath.Join(p.local, "b/link"))
			os.MkdirAll(filepath.Join(p.local, "c"), 0o755)
			write(t, filepath.Join(p.local, "e/q"), "q")
			write(t, filepath.Join(p.local, "g/h/k"), "k")
			p.mustRun()
			_, ancestor, err := loadState(StatePath(p.state, p.local, "test:Sync"), p.local, "test:Sync")
			if err != nil || ancestor.Len() != 15 {
				t.Fatalf("ancestor of %d entries, %v", ancestor.Len(), err)
			}
			tc.change(filepath.Join(p.server, "Sync"))
			ctx := context.Background()
			unkFull, unkDigest := map[string]bool{}, map[string]bool{}
			want, err := listRemote(ctx, fullLister{p.rc}, "Sync", unkFull, ancestor)
			if err != nil {
				t.Fatal(err)
			}
			cl := &countingLister{digestLister: p.rc}
			got, err := listDigests(ctx, cl, "Sync", ancestor, unkDigest)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dump(got), dump(want)) || !maps.Equal(unkFull, unkDigest) {
				t.Errorf("digest listing:\n got %v\nwant %v", dump(got), dump(want))
			}
			if cl.entries != tc.sent {
				t.Errorf("the listing sent %d entries, want %d", cl.entries, tc.sent)
			}
		})
	}
}

// dump lists a tree's entries, mtimes and all, except those of
// directories and links, which a digest listing takes from the ancestor.
func dump(t core.Tree) []string {
	var out []string
	for p, e := range t.All() {
		if e.Kind != core.File {
			e.MTime = 0
		}
		out = append(out, fmt.Sprintf("%s:%s:%d", p, e, e.MTime))
	}
	return out
}

// TestSealedListsInFull: an encrypted folder's remote lists in full (its
// ancestor's names and sizes are not the server's).
func TestSealedListsInFull(t *testing.T) {
	if _, ok := Remote(&sealedRemote{}).(digestLister); ok {
		t.Error("sealedRemote is a digestLister; want the full listing for encrypted folders")
	}
}

// ignoringLister is a server that does not know digests: it lists in full
// and never answers a directory as unchanged.
type ignoringLister struct{ Remote }

func (l ignoringLister) ListDigests(ctx context.Context, p string, h proto.HashMode, _ []proto.DirSum, fn func([]proto.Entry, []uint32) error) error {
	return l.List(ctx, p, h, func(es []proto.Entry) error { return fn(es, nil) })
}

// TestListDigestsIgnored checks that a listing whose digests the server
// ignores gives the server's tree in full, grafting nothing of the
// ancestor.
func TestListDigestsIgnored(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a/x"), "x")
	write(t, filepath.Join(p.local, "b"), "b")
	p.mustRun()
	ancestor, err := listRemote(context.Background(), fullLister{p.rc}, "Sync", map[string]bool{}, core.Tree{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(p.server, "Sync/b")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p.server, "Sync/c"), "c")
	want, err := listRemote(context.Background(), fullLister{p.rc}, "Sync", map[string]bool{}, core.Tree{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := listRemote(context.Background(), ignoringLister{p.rc}, "Sync", map[string]bool{}, ancestor)
	if err != nil || !got.Equal(want) {
		t.Errorf("got %v, %v; want %v", slices.Collect(maps.Keys(maps.Collect(got.All()))), err, slices.Collect(maps.Keys(maps.Collect(want.All()))))
	}
}
