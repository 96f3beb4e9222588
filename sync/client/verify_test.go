package client

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"simplecloud/sync/core"
)

func TestTouched(t *testing.T) {
	for _, tt := range []struct {
		name string
		acts []core.Action
		want []string
	}{
		{"none", nil, nil},
		{"write and its parent", []core.Action{
			{Op: core.OpMkdir, Path: "d"},
			{Op: core.OpWrite, Path: "d/f", From: "d/f"},
		}, []string{"d", "d/f"}},
		{"a move names both paths, a write its path once", []core.Action{
			{Op: core.OpWrite, Path: "b", From: "b"},
			{Op: core.OpMove, Path: "c", From: "a"},
			{Op: core.OpSetMeta, Path: "b"},
			{Op: core.OpRemove, Path: "a"},
		}, []string{"b", "c", "a", "b", "a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := slices.Collect(touched(slices.All(tt.acts))); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestVerifyEveryBatch: verify asks the server about the paths in several
// Stats at once, and a change to a path of any of them (here the last)
// keeps the run from claiming both sides are equal.
func TestVerifyEveryBatch(t *testing.T) {
	n := 2*verifyBatch + verifyBatch/2
	for _, change := range []bool{false, true} {
		p := newPair(t)
		for i := range n {
			write(t, filepath.Join(p.local, fmt.Sprintf("f%05d", i)), "x")
		}
		last := filepath.Join(p.server, "Sync", fmt.Sprintf("f%05d", n-1))
		s, err := p.run(func(o *Options) {
			o.synced = func([]string) {
				if change {
					old := time.Unix(1, 0)
					if err := os.Chtimes(last, old, old); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Uploaded != n || s.Converged == change {
			t.Errorf("changed the last file on the server: %v; got %d uploaded, converged %v, want %d, %v", change, s.Uploaded, s.Converged, n, !change)
		}
	}
}
