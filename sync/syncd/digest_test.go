package syncd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"simplecloud/sync/proto"
)

// sumsOf computes a client's digests of the directories of a listing of
// base, as a client whose last agreed state is that listing does; each
// directory holding entries gets one, hashless files and all.
func sumsOf(entries []proto.Entry, base string) []proto.DirSum {
	ds := map[string]*proto.Digester{}
	for i, e := range entries {
		if e.Path == base {
			continue
		}
		parent, name := splitPath(e.Path)
		d := ds[parent]
		if d == nil {
			d = new(proto.Digester)
			d.Reset()
			ds[parent] = d
		}
		d.Add(name, &entries[i])
	}
	var out []proto.DirSum
	for p, d := range ds {
		sum, _ := d.Sum()
		out = append(out, proto.DirSum{Path: p, Digest: sum})
	}
	slices.SortFunc(out, func(a, b proto.DirSum) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func splitPath(p string) (string, string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// listDigests lists base against sums: the entries sent and the
// directories answered as unchanged.
func (p *peer) listDigests(base string, h proto.HashMode, sums []proto.DirSum) ([]proto.Entry, []uint32) {
	p.t.Helper()
	ms := []proto.Message{&proto.List{Path: base, Hashes: h, Digests: true}}
	for _, b := range proto.DigestBatches(sums) {
		ms = append(ms, &proto.DirDigests{Dirs: b})
	}
	if len(sums) == 0 {
		ms = append(ms, &proto.DirDigests{})
	}
	var sent []proto.Entry
	var same []uint32
	for _, m := range p.answer(p.send(ms...)) {
		b, ok := m.(*proto.EntryBatch)
		if !ok {
			p.t.Fatalf("List with digests of %q: got %#v", base, m)
		}
		sent = append(sent, b.Entries...)
		same = append(same, b.Same...)
	}
	return sent, same
}

// rebuild is what a client makes of a digest listing: the entries sent,
// and the old listing's entries of each directory answered unchanged.
func rebuild(t *testing.T, old []proto.Entry, base string, sums []proto.DirSum, sent []proto.Entry, same []uint32) []proto.Entry {
	t.Helper()
	unchanged := map[string]bool{}
	for _, i := range same {
		if int(i) >= len(sums) {
			t.Fatalf("same names digest %d of %d", i, len(sums))
		}
		unchanged[sums[i].Path] = true
	}
	out := append([]proto.Entry(nil), sent...)
	for _, e := range old {
		if parent, _ := splitPath(e.Path); e.Path != base && unchanged[parent] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b proto.Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// digestTree makes the tree the digest tests change.
func digestTree(p *peer) {
	p.file("f1", []byte("top"))
	p.file("a/x", []byte("xxx"))
	p.file("a/y", []byte("yyy"))
	p.file("a/sub/z", []byte("zzz"))
	p.file("b/w", []byte("www"))
	os.Symlink("w", filepath.Join(p.dir, "b/link"))
	os.MkdirAll(filepath.Join(p.dir, "c"), 0o755)
	p.file("e/q", []byte("qqq"))
	p.file("g/h/k", []byte("kkk"))
}

// TestListDigests changes the tree in one way at a time and checks that
// a client rebuilding the listing from the digest answer gets exactly the
// full listing, and that only the directories that changed were sent;
// once with the changed directory matched before the change, once with
// its digest left out or wrong (sent in any case).
func TestListDigests(t *testing.T) {
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	cases := []struct {
		name    string
		dir     string // the directory whose digest the unmatched runs spoil
		change  func(root string)
		changed []string // directories sent
	}{
		{"nothing", "a", func(string) {}, nil},
		{"content", "a", func(r string) { os.WriteFile(filepath.Join(r, "a/x"), []byte("XXX"), 0) }, []string{"a"}},
		// Only the hash differs: same size, mtime put back.
		{"content alone", "a", func(r string) {
			st, _ := os.Stat(filepath.Join(r, "a/x"))
			os.WriteFile(filepath.Join(r, "a/x"), []byte("XXX"), 0)
			os.Chtimes(filepath.Join(r, "a/x"), st.ModTime(), st.ModTime())
		}, []string{"a"}},
		{"renamed", "a", func(r string) { os.Rename(filepath.Join(r, "a/x"), filepath.Join(r, "a/w")) }, []string{"a"}},
		{"size", "a", func(r string) { os.WriteFile(filepath.Join(r, "a/x"), []byte("xxxx"), 0) }, []string{"a"}},
		{"mtime only", "a", func(r string) { os.Chtimes(filepath.Join(r, "a/x"), mtime, mtime) }, []string{"a"}},
		{"mode only", "a", func(r string) { os.Chmod(filepath.Join(r, "a/x"), 0o600) }, []string{"a"}},
		{"dir mode", "", func(r string) { os.Chmod(filepath.Join(r, "a"), 0o700) }, []string{""}},
		// A directory's mtime is not digested: no client compares it.
		{"dir mtime", "", func(r string) { os.Chtimes(filepath.Join(r, "e"), mtime, mtime) }, nil},
		{"file to dir", "a", func(r string) {
			os.Remove(filepath.Join(r, "a/x"))
			os.Mkdir(filepath.Join(r, "a/x"), 0o755)
		}, []string{"a"}},
		{"file to link", "a", func(r string) {
			os.Remove(filepath.Join(r, "a/x"))
			os.Symlink("y", filepath.Join(r, "a/x"))
		}, []string{"a"}},
		{"link to file", "b", func(r string) {
			os.Remove(filepath.Join(r, "b/link"))
			os.WriteFile(filepath.Join(r, "b/link"), []byte("w"), 0o644)
		}, []string{"b"}},
		{"link target", "b", func(r string) {
			os.Remove(filepath.Join(r, "b/link"))
			os.Symlink("v", filepath.Join(r, "b/link")) // as long as the old
		}, []string{"b"}},
		{"dir to file", "", func(r string) {
			os.RemoveAll(filepath.Join(r, "e"))
			os.WriteFile(filepath.Join(r, "e"), nil, 0o644)
		}, []string{""}},
		{"new file", "e", func(r string) { os.WriteFile(filepath.Join(r, "e/new"), nil, 0o644) }, []string{"e"}},
		// Emptied: nothing is sent of a/sub, and nothing said unchanged.
		{"deleted file", "a/sub", func(r string) { os.Remove(filepath.Join(r, "a/sub/z")) }, nil},
		{"deleted dir", "", func(r string) { os.RemoveAll(filepath.Join(r, "g")) }, []string{""}},
		{"new empty dir", "c", func(r string) { os.Mkdir(filepath.Join(r, "c/new"), 0o755) }, []string{"c"}},
		{"emptied dir", "e", func(r string) { os.Remove(filepath.Join(r, "e/q")) }, nil},
	}
	for _, tc := range cases {
		for _, how := range []string{"matched", "left out", "wrong"} {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				p := newPeer(t, false)
				digestTree(p)
				old := p.list("")
				sums := sumsOf(old, "")
				switch how {
				case "left out":
					sums = slices.DeleteFunc(sums, func(s proto.DirSum) bool { return s.Path == tc.dir })
				case "wrong":
					for i := range sums {
						if sums[i].Path == tc.dir {
							sums[i].Digest[0] ^= 1
						}
					}
				}
				tc.change(p.dir)
				want := p.list("")
				sent, same := p.listDigests("", proto.HashesAll, sums)
				got := rebuild(t, old, "", sums, sent, same)
				if !slices.Equal(comparable(got), comparable(want)) {
					t.Errorf("rebuilt listing:\n got %v\nwant %v", got, want)
				}
				var sentDirs []string
				for _, e := range sent {
					if d, _ := splitPath(e.Path); e.Path != "" && !slices.Contains(sentDirs, d) {
						sentDirs = append(sentDirs, d)
					}
				}
				slices.Sort(sentDirs)
				wantSent := slices.Clone(tc.changed)
				if how != "matched" && !slices.Contains(wantSent, tc.dir) {
					wantSent = append(wantSent, tc.dir)
				}
				wantSent = slices.DeleteFunc(wantSent, func(d string) bool { return !hasEntries(want, d) })
				slices.Sort(wantSent)
				if !slices.Equal(sentDirs, wantSent) {
					t.Errorf("directories sent: got %q, want %q", sentDirs, wantSent)
				}
				if len(sent) == 0 || sent[0].Path != "" || sent[0].Kind != proto.KindDir {
					t.Errorf("the root entry first: got %v", sent)
				}
			})
		}
	}
}

// comparable returns the entries without what a digest leaves out: the
// mtimes and sizes of directories and links, which a rebuilt listing
// takes from the old one.
func comparable(es []proto.Entry) []proto.Entry {
	out := slices.Clone(es)
	for i := range out {
		if out[i].Kind != proto.KindFile {
			out[i].Mtime, out[i].Size = 0, 0
		}
	}
	return out
}

// hasEntries reports whether the listing holds entries directly in d.
func hasEntries(es []proto.Entry, d string) bool {
	for _, e := range es {
		if parent, _ := splitPath(e.Path); e.Path != "" && parent == d {
			return true
		}
	}
	return false
}

// TestListDigestsHashless: a directory holding a file listed without a
// hash is always sent, even against a digest made of the same listing.
func TestListDigestsHashless(t *testing.T) {
	p := newPeer(t, false)
	digestTree(p)
	none := func() []proto.Entry {
		var out []proto.Entry
		for _, m := range p.answer(p.send(&proto.List{Path: "", Hashes: proto.HashesNone})) {
			out = append(out, m.(*proto.EntryBatch).Entries...)
		}
		return out
	}
	old := none()
	sums := sumsOf(old, "")
	sent, same := p.listDigests("", proto.HashesNone, sums)
	if got, want := rebuild(t, old, "", sums, sent, same), none(); !slices.Equal(comparable(got), comparable(want)) {
		t.Errorf("rebuilt listing:\n got %v\nwant %v", got, want)
	}
	hashless := 0
	for _, e := range sent {
		if e.Kind == proto.KindFile && e.Hash.IsZero() {
			hashless++
		}
	}
	if hashless != 7 {
		t.Errorf("got %d files sent without a hash, want all 7", hashless)
	}
	var sameDirs []string
	for _, i := range same {
		sameDirs = append(sameDirs, sums[i].Path)
	}
	slices.Sort(sameDirs)
	if want := []string{"g"}; !slices.Equal(sameDirs, want) {
		t.Errorf("unchanged directories: got %q, want %q (only those without files)", sameDirs, want)
	}
	// With every hash known, the same tree matches in full.
	old = p.list("")
	sums = sumsOf(old, "")
	sent, same = p.listDigests("", proto.HashesAll, sums)
	if len(sent) != 1 || len(same) != len(sums) {
		t.Errorf("all known: got %d entries sent and %d of %d directories unchanged, want the root entry only", len(sent), len(same), len(sums))
	}
}

// TestListDigestsSubtree lists a folder below the root: its own entry
// first, then what changed in it.
func TestListDigestsSubtree(t *testing.T) {
	p := newPeer(t, false)
	digestTree(p)
	old := p.list("a")
	sums := sumsOf(old, "a")
	if len(sums) != 2 || sums[0].Path != "a" {
		t.Fatalf("digests of a: %v", sums)
	}
	p.file("a/sub/z", []byte("ZZZ")) // in place: a's entries stay
	want := p.list("a")
	sent, same := p.listDigests("a", proto.HashesAll, sums)
	if got := rebuild(t, old, "a", sums, sent, same); !slices.Equal(comparable(got), comparable(want)) || sent[0].Path != "a" {
		t.Errorf("rebuilt listing:\n got %v\nwant %v", got, want)
	}
	if len(same) != 1 || same[0] != 0 {
		t.Errorf("unchanged: got %v, want [0] (a itself)", same)
	}
}

func TestListDigestsBad(t *testing.T) {
	p := newPeer(t, false)
	digestTree(p)
	// Digests promised but the List is its request's last frame.
	p.wantCode(proto.CodeBadRequest, &proto.List{Path: "", Digests: true})
	// Something other than digests after the List.
	p.wantCode(proto.CodeBadRequest, &proto.List{Path: "", Digests: true}, &proto.Data{})
	// The same directory twice.
	d := proto.DirSums{{Path: "a"}, {Path: "a"}}
	p.wantCode(proto.CodeBadRequest, &proto.List{Path: "", Digests: true}, &proto.DirDigests{Dirs: d})
	// The connection still serves.
	if got := p.list(""); len(got) == 0 {
		t.Error("List after bad digest lists: nothing")
	}
}
