package core

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

func TestBuilder(t *testing.T) {
	bad := []struct {
		name  string
		pairs []any
		want  string
	}{
		{"duplicate", []any{"a", file(1), "a", file(2)}, "duplicate"},
		{"no parent", []any{"a/b", file(1)}, "no directory"},
		{"parent is a file", []any{"a", file(1), "a/b", file(2)}, "no directory"},
		{"grandparent missing", []any{"a", dir(), "a/b/c", file(2)}, "no directory"},
	}
	for _, tt := range bad {
		var b Builder
		for i := 0; i < len(tt.pairs); i += 2 {
			if err := b.Add(tt.pairs[i].(string), tt.pairs[i+1].(Entry)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	var b Builder
	for _, tt := range []struct {
		p string
		e Entry
	}{{"../a", file(1)}, {"a", Entry{}}, {"s", link("")}, {"s", link("a\x00b")}} {
		if err := b.Add(tt.p, tt.e); err == nil {
			t.Errorf("Add(%q, %v): got nil, want an error", tt.p, tt.e)
		}
	}
}

func TestTreeLookupAndOrder(t *testing.T) {
	// Added out of order; Build sorts with "/" lowest.
	tr := mk(t, "a-b", file(1), "a/x", link("../t"), "a", dirMode(0o4755), "b", fileMode(2, 0o2644))
	var got []string
	for p := range tr.All() {
		got = append(got, p)
	}
	if want := "a a/x a-b b"; strings.Join(got, " ") != want {
		t.Errorf("order: got %q, want %q", got, want)
	}
	if e := tr.Lookup("a/x"); e.Kind != Symlink || e.Target != "../t" {
		t.Errorf("Lookup(a/x): got %v, want the link", e)
	}
	if e := tr.Lookup("a"); e.Mode != 0o755 {
		t.Errorf("Lookup(a).Mode: got %o, want 755 (setuid dropped)", e.Mode)
	}
	if e := tr.Lookup("b"); e.Mode != 0o644 {
		t.Errorf("Lookup(b).Mode: got %o, want 644 (setgid dropped)", e.Mode)
	}
	if tr.Lookup("zz").Present() || tr.Lookup("a/").Present() {
		t.Errorf("Lookup of a missing path found something")
	}
	if tr.Len() != 4 || tr.Files() != 3 {
		t.Errorf("Len, Files: got %d, %d, want 4, 3", tr.Len(), tr.Files())
	}
}

func TestFilter(t *testing.T) {
	tr := mk(t, "a", dir(), "a/b", dir(), "a/b/c", file(1), "a/d", file(2), "a-e", file(3))
	got := tr.Filter(func(p string, e Entry) bool { return p == "a/b" })
	if want := "{a=d a/d=f2 a-e=f3}"; treeString(got) != want {
		t.Errorf("got %s, want %s", treeString(got), want)
	}
	if same := tr.Filter(func(string, Entry) bool { return false }); !same.Equal(tr) {
		t.Errorf("a filter that drops nothing changed the tree")
	}
}

func TestShareStrings(t *testing.T) {
	a := mk(t, "dir", dir(), "dir/file", file(1))
	b := mk(t, "dir", dir(), "dir/file", file(2), "new", file(3))
	b.ShareStrings(a)
	if unsafeStringData(b.recs[1].key) != unsafeStringData(a.recs[1].key) {
		t.Errorf("equal paths still stored twice")
	}
	if b.Lookup("dir/file").Hash != (Digest{2}) {
		t.Errorf("ShareStrings changed an entry")
	}
}

// bigTree builds n files in directories of 100, with paths of about 30
// bytes, like a photo or source tree.
func bigTree(tb testing.TB, n int, content byte) Tree {
	var b Builder
	for d := 0; d < n/100; d++ {
		dp := fmt.Sprintf("projects/dir%04d", d)
		if d == 0 {
			must(tb, b.Add("projects", dir()))
		}
		must(tb, b.Add(dp, dir()))
		for f := 0; f < 100; f++ {
			must(tb, b.Add(fmt.Sprintf("%s/file%03d.dat", dp, f), fileAt(content, int64(f))))
		}
	}
	tr, err := b.Build()
	must(tb, err)
	return tr
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestTreeMemory measures what a client holds at 200,000 files: the
// ancestor and both snapshots, paths shared, during a reconcile that finds
// nothing to do.
func TestTreeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three trees of 200,000 files")
	}
	const n = 200_000
	before := heap()
	a := bigTree(t, n, 1)
	one := heap() - before
	l, r := bigTree(t, n, 1), bigTree(t, n, 1)
	l.ShareStrings(a)
	r.ShareStrings(a)
	plan := Reconcile(a, l, r, fuzzOpts)
	three := heap() - before
	if !plan.Empty() {
		t.Fatalf("plan for equal trees: %d actions", plan.Local.Len()+plan.Remote.Len())
	}
	t.Logf("one tree: %d bytes per file; ancestor and both sides, paths shared: %d bytes per file",
		one/n, three/n)
	if one/n > 110 || three/n > 260 {
		t.Errorf("got %d and %d bytes per file, want at most 110 and 260", one/n, three/n)
	}
	runtime.KeepAlive([]Tree{a, l, r})
}

// TestPlanMemory measures the plan of an initial sync of 200,000 files to
// an empty server (an action each, alive while they run) and what the
// server's new tree costs beyond itself to record after them.
func TestPlanMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("plans 200,000 files")
	}
	const n = 200_000
	l := bigTree(t, n, 1)
	before := heap()
	plan := Reconcile(Tree{}, l, Tree{}, fuzzOpts)
	planned := heap() - before
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	alloc := m.TotalAlloc
	r2, err := plan.Remote.Apply(Tree{}, Tree{})
	must(t, err)
	runtime.ReadMemStats(&m)
	extra := m.TotalAlloc - alloc - uint64(r2.Len())*uint64(unsafe.Sizeof(record{}))
	t.Logf("plan: %d bytes per file; recording it: %d bytes per file besides the new tree", planned/n, extra/n)
	if planned/n > 20 || extra/n > 10 {
		t.Errorf("got %d and %d bytes per file, want at most 20 and 10", planned/n, extra/n)
	}
	runtime.KeepAlive(plan)
}

func BenchmarkReconcileUnchanged200k(b *testing.B) {
	a := bigTree(b, 200_000, 1)
	l, r := bigTree(b, 200_000, 1), bigTree(b, 200_000, 1)
	b.ResetTimer()
	for range b.N {
		Reconcile(a, l, r, fuzzOpts)
	}
}

func BenchmarkReconcileAllNew200k(b *testing.B) {
	l := bigTree(b, 200_000, 1)
	b.ResetTimer()
	for range b.N {
		Reconcile(Tree{}, l, Tree{}, fuzzOpts)
	}
}

func TestIdentical(t *testing.T) {
	build := func(mtime int64) Tree {
		var b Builder
		b.Add("a", Entry{Kind: File, Size: 1, MTime: mtime, Mode: 0o644})
		tr, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	if !build(1).Identical(build(1)) {
		t.Error("the same tree: got not identical")
	}
	if build(1).Identical(build(2)) || !build(1).Equal(build(2)) {
		t.Error("an mtime apart: want Equal but not Identical")
	}
	if (Tree{}).Identical(build(1)) {
		t.Error("empty and one entry: got identical")
	}
}

// TestBuilderChunks builds a tree too big for the first chunk, with and
// without a size hint, in order and reversed: the same tree each way,
// and without the hint no more allocated than the chunks and the joined
// tree (growing one slice by append allocated four times the tree more).
func TestBuilderChunks(t *testing.T) {
	const n = 50_000
	ref := bigTree(t, n, 1)
	build := func(hint int, reverse bool) Tree {
		var b Builder
		b.Grow(hint)
		for i := range ref.Len() {
			if reverse {
				i = ref.Len() - 1 - i
			}
			must(t, b.Add(ref.At(i)))
		}
		tr, err := b.Build()
		must(t, err)
		return tr
	}
	for _, tt := range []struct {
		name    string
		hint    int
		reverse bool
	}{{"no hint", 0, false}, {"no hint, reversed", 0, true}, {"hint", ref.Len(), false}, {"small hint", 100, true}} {
		if got := build(tt.hint, tt.reverse); !got.Identical(ref) {
			t.Errorf("%s: got a tree of %d entries that differs from the %d added", tt.name, got.Len(), ref.Len())
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	tr := build(0, false)
	runtime.ReadMemStats(&m1)
	size := uint64(tr.Len()) * uint64(unsafe.Sizeof(record{}))
	if got := m1.TotalAlloc - m0.TotalAlloc; got > size*5/2 {
		t.Errorf("an unhinted build allocated %d bytes for a tree of %d, want at most 2.5 times", got, size)
	}
}

// BenchmarkFirstSync200k plans an initial sync of 200,000 files to an
// empty server and records its outcome, as a client does.
func BenchmarkFirstSync200k(b *testing.B) {
	l := bigTree(b, 200_000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := Reconcile(Tree{}, l, Tree{}, fuzzOpts)
		if _, err := p.Remote.Apply(Tree{}, Tree{}); err != nil {
			b.Fatal(err)
		}
	}
}
