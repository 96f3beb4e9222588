package core

import (
	"errors"
	"slices"
	"testing"
	"unsafe"
)

func TestValidPath(t *testing.T) {
	good := []string{"a", "a/b", ".hidden", "a/..b", "...", "a b/c", "\xff\xfe", "a\\b"}
	bad := []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a/..", "a\x00b"}
	for _, p := range good {
		if err := ValidPath(p); err != nil {
			t.Errorf("ValidPath(%q): got %v, want nil", p, err)
		}
	}
	for _, p := range bad {
		if err := ValidPath(p); !errors.Is(err, ErrBadPath) {
			t.Errorf("ValidPath(%q): got %v, want ErrBadPath", p, err)
		}
	}
}

func TestComparePaths(t *testing.T) {
	want := []string{"a", "a/b", "a/b/c", "a/c", "a-b", "a.b", "ab", "b"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, ComparePaths)
	if !slices.Equal(got, want) {
		t.Errorf("sorted: got %q, want %q", got, want)
	}
	if ComparePaths("a", "a") != 0 {
		t.Errorf("ComparePaths(a, a) != 0")
	}
}

func TestPathHelpers(t *testing.T) {
	for _, tt := range []struct{ p, parent, base string }{{"a", "", "a"}, {"a/b", "a", "b"}, {"a/b/c.txt", "a/b", "c.txt"}} {
		if Parent(tt.p) != tt.parent || Base(tt.p) != tt.base {
			t.Errorf("%q: got parent %q base %q, want %q %q", tt.p, Parent(tt.p), Base(tt.p), tt.parent, tt.base)
		}
	}
	for _, tt := range []struct {
		p, dir string
		want   bool
	}{{"a/b", "a", true}, {"a", "a", false}, {"ab", "a", false}, {"a", "", true}, {"a/b/c", "a/b", true}} {
		if got := Within(tt.p, tt.dir); got != tt.want {
			t.Errorf("Within(%q, %q): got %v, want %v", tt.p, tt.dir, got, tt.want)
		}
	}
}

// TestSizes pins the memory figures the package documents.
func TestSizes(t *testing.T) {
	if got := unsafe.Sizeof(record{}); got != 72 {
		t.Errorf("record: got %d bytes, want 72", got)
	}
	if got := unsafe.Sizeof(Entry{}); got != 72 {
		t.Errorf("Entry: got %d bytes, want 72", got)
	}
}
