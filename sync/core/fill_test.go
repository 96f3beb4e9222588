package core

import "testing"

// TestFillHash: only a file without a hash gets one, once; the trees an
// action plan's Apply makes from it carry it.
func TestFillHash(t *testing.T) {
	pending := file(1)
	pending.Hash = Digest{}
	tr := mk(t, "a", pending, "b", file(2), "d", dir(), "d/c", pending)
	for _, c := range []struct {
		p    string
		h    Digest
		want bool
	}{
		{"a", Digest{9}, true},
		{"a", Digest{8}, false}, // hashed now
		{"b", Digest{9}, false}, // had one
		{"d", Digest{9}, false}, // a directory
		{"x", Digest{9}, false}, // absent
		{"d/c", Digest{}, false},
		{"d/c", Digest{7}, true},
	} {
		if got := tr.FillHash(c.p, c.h); got != c.want {
			t.Errorf("FillHash(%s, %x): got %v, want %v", c.p, c.h[:1], got, c.want)
		}
	}
	for p, want := range map[string]Digest{"a": {9}, "b": {2}, "d/c": {7}} {
		if got := tr.Lookup(p).Hash; got != want {
			t.Errorf("%s: hash %x, want %x", p, got[:1], want[:1])
		}
	}
}
