package versions

import (
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The staggered schedule: versions younger than the first step are all
// kept; older ones, one per bucket of the step of their age.
var schedule = []struct {
	until time.Duration // versions younger than this...
	step  time.Duration // ...keep one per bucket of this size
}{
	{time.Hour, 0},
	{24 * time.Hour, time.Hour},
	{30 * 24 * time.Hour, 24 * time.Hour},
	{1<<63 - 1, 7 * 24 * time.Hour},
}

// item is one version as the pruning planner sees it.
type item struct {
	path string
	kept time.Time
	size int64
}

// planPrune returns the indexes of the versions to remove: first by the
// staggered schedule (when pol.Staggered), per path, then, while the rest
// is larger than pol.CapBytes, the oldest of all. Buckets are fixed
// intervals of Unix time (hours, days, weeks since the epoch, in UTC), and
// each keeps its newest version, the last state of that hour or day, so a
// version kept by one run is kept by the next until its age moves it into
// a coarser bucket. Hour buckets nest in days; week buckets start on a
// Thursday (the epoch's weekday).
func planPrune(items []item, now time.Time, pol Policy) []int {
	drop := make([]bool, len(items))
	if pol.Staggered {
		byPath := map[string][]int{}
		for i, it := range items {
			byPath[it.path] = append(byPath[it.path], i)
		}
		for _, idx := range byPath {
			times := make([]time.Time, len(idx))
			for j, i := range idx {
				times[j] = items[i].kept
			}
			for j, d := range Staggered(times, now) {
				drop[idx[j]] = d
			}
		}
	}
	if pol.CapBytes > 0 {
		var total int64
		var live []int
		for i, it := range items {
			if !drop[i] {
				total += it.size
				live = append(live, i)
			}
		}
		sort.SliceStable(live, func(a, b int) bool { return items[live[a]].kept.Before(items[live[b]].kept) })
		for _, i := range live {
			if total <= pol.CapBytes {
				break
			}
			drop[i] = true
			total -= items[i].size
		}
	}
	var out []int
	for i, d := range drop {
		if d {
			out = append(out, i)
		}
	}
	return out
}

// Staggered applies the staggered schedule to the times of the versions
// of one thing (a file's versions, a replica's snapshots) and reports
// which to drop: all are kept for an hour; then, in each hour, day (up to
// 30 days) and week bucket of Unix time, only the newest. The newest of
// all is always kept. Buckets are fixed, so a version kept by one run is
// kept by the next until its age moves it into a coarser bucket.
func Staggered(times []time.Time, now time.Time) []bool {
	order := make([]int, len(times))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return times[order[a]].After(times[order[b]]) })
	type key struct {
		step   time.Duration
		bucket int64
	}
	drop := make([]bool, len(times))
	seen := map[key]bool{}
	for _, i := range order {
		age := now.Sub(times[i])
		for _, s := range schedule {
			if age >= s.until {
				continue
			}
			if s.step > 0 {
				k := key{s.step, times[i].Unix() / int64(s.step/time.Second)}
				drop[i] = seen[k]
				seen[k] = true
			}
			break
		}
	}
	return drop
}

// PruneStats says what Prune did.
type PruneStats struct {
	Removed      int
	RemovedBytes int64
	Kept         int
	KeptBytes    int64
}

// Prune removes the versions the policy no longer keeps (see planPrune)
// and the store directories that leaves empty.
func (s *Store) Prune(now time.Time) (PruneStats, error) {
	var ids []string
	var items []item
	err := s.walk("", func(id, orig string, kept time.Time) error {
		st, err := s.root.Lstat(path.Join(Dir, id))
		if err != nil {
			return nil
		}
		ids = append(ids, id)
		items = append(items, item{path: orig, kept: kept, size: st.Size})
		return nil
	})
	if err != nil {
		return PruneStats{}, err
	}
	var ps PruneStats
	dirs := map[string]bool{}
	removed := map[int]bool{}
	for _, i := range planPrune(items, now, s.pol) {
		if err := s.root.Remove(path.Join(Dir, ids[i]), 0); err != nil {
			s.log.Warn("prune version", "id", ids[i], "err", err)
			continue
		}
		removed[i] = true
		ps.Removed++
		ps.RemovedBytes += items[i].size
		for d := path.Dir(ids[i]); d != "." && d != ""; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for i := range items {
		if !removed[i] {
			ps.Kept++
			ps.KeptBytes += items[i].size
		}
	}
	// Deepest first, so parents empty out after their children.
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(a, b int) bool { return strings.Count(ds[a], "/") > strings.Count(ds[b], "/") })
	for _, d := range ds {
		s.root.Remove(path.Join(Dir, d), unix.AT_REMOVEDIR) // fails while not empty
	}
	return ps, nil
}
