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

// TestDependenciesRemembered checks that dependencies, which remembers
// only the paths a later action can look up, still finds every
// dependency: on a directory above, on a path acted on twice, and through
// a move's From.
func TestDependenciesRemembered(t *testing.T) {
	dir := core.Entry{Kind: core.Dir}
	file := core.Entry{Kind: core.File}
	w := func(p string) core.Action { return core.Action{Op: core.OpWrite, Path: p, New: file} }
	for _, c := range []struct {
		name string
		acts []core.Action
		want map[int][]int32 // action -> its dependencies (others none)
	}{
		{"ascending, into a directory made first",
			[]core.Action{{Op: core.OpMkdir, Path: "a", New: dir}, w("a/f"), w("a/g"), w("b")},
			map[int][]int32{1: {0}, 2: {0}}},
		{"a path twice, out of order",
			[]core.Action{w("x/f"), w("a"), w("x/f")},
			map[int][]int32{2: {0}}},
		{"descending removals, the directory last",
			[]core.Action{{Op: core.OpRemove, Path: "d/z", Old: file}, {Op: core.OpRemove, Path: "d/y", Old: file}, {Op: core.OpRemove, Path: "d", Old: dir}},
			map[int][]int32{2: {0, 1}}},
		{"a move's source written after it",
			[]core.Action{{Op: core.OpMove, Path: "n", From: "o", Old: file, New: file}, w("o")},
			map[int][]int32{1: {0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := dependencies(len(c.acts), func(i int) core.Action { return c.acts[i] })
			for i := range c.acts {
				got := slices.Sorted(slices.Values(d.of(i)))
				got = slices.Compact(got)
				if want := c.want[i]; !slices.Equal(got, want) && len(got)+len(want) > 0 {
					t.Errorf("action %d (%s): got dependencies %v, want %v", i, c.acts[i].Path, got, want)
				}
			}
		})
	}
	// In order and without moves, a file's path is not remembered; its
	// directories are.
	acts := []core.Action{w("a/b/f"), w("a/b/g"), w("a/c")}
	remember := lookedUp(len(acts), func(i int) core.Action { return acts[i] })
	for p, want := range map[string]bool{"a": true, "a/b": true, "a/b/f": false, "a/c": false} {
		if got := remember(p); got != want {
			t.Errorf("lookedUp(%s): got %v, want %v", p, got, want)
		}
	}
}
