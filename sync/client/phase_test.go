package client

import (
	"context"
	"errors"
	"slices"
	gosync "sync"
	"testing"

	"simplecloud/sync/core"
)

// TestRunPhaseOrder runs mkdirs and removals on many workers and checks
// that a directory is made before its children and removed after them,
// and that a failed parent fails its children without running them.
func TestRunPhaseOrder(t *testing.T) {
	dir := core.Entry{Kind: core.Dir}
	file := core.Entry{Kind: core.File}
	mk := []core.Action{
		{Op: core.OpMkdir, Path: "a", New: dir}, {Op: core.OpMkdir, Path: "a/b", New: dir},
		{Op: core.OpMkdir, Path: "a/b/c", New: dir}, {Op: core.OpMkdir, Path: "x", New: dir},
		{Op: core.OpMkdir, Path: "bad", New: dir}, {Op: core.OpMkdir, Path: "bad/child", New: dir},
	}
	rm := []core.Action{
		{Op: core.OpRemove, Path: "a/b/f1", Old: file}, {Op: core.OpRemove, Path: "a/b/f2", Old: file},
		{Op: core.OpRemove, Path: "a/b", Old: dir}, {Op: core.OpRemove, Path: "a/g", Old: file},
		{Op: core.OpRemove, Path: "a", Old: dir},
	}
	for _, c := range []struct {
		name string
		acts []core.Action
	}{{"mkdir", mk}, {"remove", rm}} {
		t.Run(c.name, func(t *testing.T) {
			for range 50 {
				var mu gosync.Mutex
				var order []string
				errs := runPhase(context.Background(), len(c.acts), func(i int) core.Action { return c.acts[i] }, 8, func(i int) error {
					a := c.acts[i]
					if a.Path == "bad" {
						return errors.New("boom")
					}
					mu.Lock()
					order = append(order, a.Path)
					mu.Unlock()
					return nil
				})
				for i, a := range c.acts {
					for j, b := range c.acts {
						if i < j && (core.Within(b.Path, a.Path) || core.Within(a.Path, b.Path)) &&
							slices.Index(order, a.Path) > slices.Index(order, b.Path) && slices.Contains(order, b.Path) {
							t.Fatalf("%s ran before %s: %v", b.Path, a.Path, order)
						}
					}
					if a.Path == "bad/child" && !errors.Is(errs[i], errDependency) {
						t.Fatalf("bad/child: got %v, want errDependency", errs[i])
					}
				}
			}
		})
	}
}
