package client

import (
	"context"
	"errors"
	gosync "sync"

	"simplecloud/sync/core"
)

// errDependency fails an action whose prerequisite in the same phase
// failed (a child of a directory that was not made, a directory whose
// children were not all removed).
var errDependency = errors.New("an action it depends on failed")

// runPhase runs one side's actions of one phase on up to workers
// goroutines and returns the errors of those that failed, by index.
// Actions run at once unless one depends on an earlier one of the list:
// an action waits for every earlier action on its Path or From or on a
// directory above them (directories are made before their children),
// and a directory's removal waits for every earlier action below it
// (children go first). The core lists actions in that order, so an action
// only ever waits for one that a worker has already taken: the pool
// cannot deadlock.
//
// Its memory is what the dependencies need, not a slot per action: a
// first sync of 200,000 files waits on nothing, and a slice of errors and
// one of channels took 24 bytes an action (4.8 MB) there.
func runPhase(ctx context.Context, n int, at func(i int) core.Action, workers int, do func(i int) error) map[int]error {
	errs := map[int]error{}
	if n == 0 {
		return errs
	}
	deps := dependencies(n, at)
	// A channel for each action another one waits for; most wait for
	// none (200,000 files written into existing directories). The map is
	// only read once the workers start.
	done := map[int32]chan struct{}{}
	for _, j := range deps.flat {
		if done[j] == nil {
			done[j] = make(chan struct{})
		}
	}
	var mu gosync.Mutex
	failed := func(i int32) bool {
		mu.Lock()
		defer mu.Unlock()
		return errs[int(i)] != nil
	}
	work := make(chan int)
	var wg gosync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := runOne(ctx, deps.of(i), done, failed, func() error { return do(i) }); err != nil {
					mu.Lock()
					errs[i] = err
					mu.Unlock()
				}
				if c := done[int32(i)]; c != nil {
					close(c)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return errs
}

// runOne waits for i's dependencies, then runs it unless one failed or
// ctx is done.
func runOne(ctx context.Context, deps []int32, done map[int32]chan struct{}, failed func(int32) bool, do func() error) error {
	for _, d := range deps {
		<-done[d]
		if failed(d) {
			return errDependency
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return do()
}

// deps lists each action's dependencies in one array (8 bytes an action
// and 4 a dependency, where a slice each took 24 and 8): action i's are
// flat[off[i]:off[i+1]].
type deps struct {
	off  []int32
	flat []int32
}

func (d *deps) of(i int) []int32 { return d.flat[d.off[i]:d.off[i+1]] }

// dependencies returns, for each action, the earlier actions it waits for:
// the last earlier one on each of its paths and the directories above
// them (which waited for the ones before it: a chain), and for a
// directory's removal every earlier one below it.
//
// Only paths a later action can look up are remembered (see lookedUp), so
// that a phase writing 200,000 files into existing directories keeps a
// map of its directories, not of every file.
func dependencies(n int, at func(i int) core.Action) deps {
	d := deps{off: make([]int32, n+1)}
	last := map[string]int32{}   // path -> the last action on it (Path or From)
	var below map[string][]int32 // directory -> actions strictly below it
	for i := range n {
		if a := at(i); a.Op == core.OpRemove && a.Old.Kind == core.Dir {
			below = map[string][]int32{}
			break
		}
	}
	remember := lookedUp(n, at)
	for i := range n {
		a := at(i)
		ks := keys(a)
		for _, p := range ks {
			for q := p; q != ""; q = core.Parent(q) {
				if j, ok := last[q]; ok {
					d.flat = append(d.flat, j)
				}
			}
		}
		if below != nil && a.Op == core.OpRemove && a.Old.Kind == core.Dir {
			d.flat = append(d.flat, below[a.Path]...)
		}
		d.off[i+1] = int32(len(d.flat))
		for _, p := range ks {
			if remember(p) {
				last[p] = int32(i)
			}
			if below != nil {
				for q := core.Parent(p); q != ""; q = core.Parent(q) {
					below[q] = append(below[q], int32(i))
				}
			}
		}
	}
	return d
}

// keys returns the paths a acts on: Path, and From when it differs.
func keys(a core.Action) []string {
	if a.From != "" && a.From != a.Path {
		return []string{a.Path, a.From}
	}
	return []string{a.Path}
}

// lookedUp returns which paths dependencies must remember: those a later
// action looks up, that is a directory above some action's path, or a
// path two actions act on. The second are found without a set of every
// path when the actions' paths are strictly in order (ascending, as the
// core lists writes and mkdirs, or descending, as removals) and none has a
// From: then no path comes twice. Otherwise every path is remembered.
func lookedUp(n int, at func(i int) core.Action) func(string) bool {
	dirs := map[string]bool{}
	up, down := true, true
	prev := ""
	for i := range n {
		a := at(i)
		if a.From != "" && a.From != a.Path {
			return func(string) bool { return true }
		}
		if i > 0 {
			c := core.ComparePaths(prev, a.Path)
			up = up && c < 0
			down = down && c > 0
		}
		prev = a.Path
		for q := core.Parent(a.Path); q != "" && !dirs[q]; q = core.Parent(q) {
			dirs[q] = true
		}
	}
	if !up && !down {
		return func(string) bool { return true }
	}
	return func(p string) bool { return dirs[p] }
}
