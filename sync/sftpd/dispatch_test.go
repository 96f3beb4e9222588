package sftpd

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// recorder is a fake handler: it records the order in which jobs start and
// finish, per handle, and how many run at once.
type recorder struct {
	mu          sync.Mutex
	running     map[string]int
	order       map[string][]int // job numbers per handle, in the order they ran
	now, maxNow int
	errs        []string
}

func newRecorder() *recorder {
	return &recorder{running: map[string]int{}, order: map[string][]int{}}
}

// job returns a job numbered n on handle h that yields a few times while it
// runs, so that overlapping jobs would interleave.
func (r *recorder) job(h string, n int) func() {
	return func() {
		r.mu.Lock()
		r.running[h]++
		if h != "" && r.running[h] > 1 {
			r.errs = append(r.errs, fmt.Sprintf("job %d on %q overlaps another job on its handle", n, h))
		}
		r.now++
		r.maxNow = max(r.maxNow, r.now)
		r.order[h] = append(r.order[h], n)
		r.mu.Unlock()
		for range 10 {
			runtime.Gosched()
		}
		r.mu.Lock()
		r.running[h]--
		r.now--
		r.mu.Unlock()
	}
}

// TestSameHandleInOrder checks that jobs on one handle never overlap and run
// in the order submitted, while at most maxInFlight run at once.
func TestSameHandleInOrder(t *testing.T) {
	const inFlight = 4
	d := NewDispatcher(inFlight)
	r := newRecorder()
	handles := []string{"a", "b", "c"}
	want := map[string][]int{}
	for n := range 300 {
		h := handles[n%len(handles)]
		want[h] = append(want[h], n)
		d.Submit(h, r.job(h, n))
	}
	d.Wait()
	for _, e := range r.errs {
		t.Error(e)
	}
	for _, h := range handles {
		if fmt.Sprint(r.order[h]) != fmt.Sprint(want[h]) {
			t.Errorf("handle %s: got order %v, want %v", h, r.order[h], want[h])
		}
	}
	if r.maxNow > inFlight {
		t.Errorf("got %d jobs at once, want at most %d", r.maxNow, inFlight)
	}
	d.mu.Lock()
	if len(d.queues) != 0 {
		t.Errorf("got %d handle queues left after Wait, want 0", len(d.queues))
	}
	d.mu.Unlock()
}

// TestOverlap checks that jobs on different handles, and path jobs, run at
// the same time: the first job waits for the second to start, which it
// never would if the two ran one after the other.
func TestOverlap(t *testing.T) {
	for _, keys := range [][2]string{{"a", "b"}, {"", ""}, {"a", ""}} {
		t.Run(fmt.Sprintf("%q,%q", keys[0], keys[1]), func(t *testing.T) {
			d := NewDispatcher(2)
			started := make(chan struct{})
			var overlapped bool
			d.Submit(keys[0], func() {
				select {
				case <-started:
					overlapped = true
				case <-time.After(10 * time.Second):
				}
			})
			d.Submit(keys[1], func() { close(started) })
			d.Wait()
			if !overlapped {
				t.Errorf("handles %q and %q: got the jobs one after the other, want them overlapping", keys[0], keys[1])
			}
		})
	}
}

// TestSameHandleWaits checks the converse of TestOverlap: a second job on
// the same handle does not start while the first one runs. A waiting job
// holds a slot too, hence 3 for the 3 jobs.
func TestSameHandleWaits(t *testing.T) {
	d := NewDispatcher(3)
	release := make(chan struct{})
	var mu sync.Mutex
	var events []string
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	d.Submit("a", func() { note("1 start"); <-release; note("1 end") })
	d.Submit("a", func() { note("2 start") })
	d.Submit("b", func() { note("b"); close(release) })
	d.Wait()
	got := fmt.Sprint(events)
	if got != "[1 start b 1 end 2 start]" && got != "[b 1 start 1 end 2 start]" {
		t.Errorf("got events %s, want job 2 to start after job 1 ended", got)
	}
}

// TestBarrier checks that a barrier runs after every earlier job, on every
// handle, has finished.
func TestBarrier(t *testing.T) {
	d := NewDispatcher(8)
	r := newRecorder()
	for n := range 20 {
		d.Submit(fmt.Sprint(n%3), r.job(fmt.Sprint(n%3), n))
	}
	var done int
	d.Barrier(func() {
		r.mu.Lock()
		for _, o := range r.order {
			done += len(o)
		}
		if r.now != 0 {
			t.Errorf("barrier: got %d jobs running, want 0", r.now)
		}
		r.mu.Unlock()
	})
	if done != 20 {
		t.Errorf("barrier: got %d earlier jobs run before it, want 20", done)
	}
	d.Submit("x", func() {})
	d.Wait()
}
