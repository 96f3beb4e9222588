package syncd

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// idleWorkers counts the goroutines waiting in workers.work for a request.
func idleWorkers() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "[select") && strings.Contains(g, "syncd.workers.work(") {
			n++
		}
	}
	return n
}

// waitIdle waits until want workers are idle.
func waitIdle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for idleWorkers() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers, want %d", idleWorkers(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWorkers: requests one after another run on one kept goroutine,
// requests at once each on their own, and stop ends them all.
func TestWorkers(t *testing.T) {
	w := newWorkers()
	done := make(chan int)
	for i := range 20 {
		w.run(func() { done <- i })
		if got := <-done; got != i {
			t.Fatalf("request %d ran as %d", i, got)
		}
		waitIdle(t, 1) // the same worker each time: never a second
	}

	// Ten at once: the idle worker takes one, nine more start.
	var wg sync.WaitGroup
	release := make(chan struct{})
	wg.Add(10)
	for range 10 {
		w.run(func() { wg.Done(); <-release })
	}
	wg.Wait()
	close(release)
	waitIdle(t, 10)

	w.stop()
	waitIdle(t, 0)
	// A request after stop still runs.
	w.run(func() { done <- 1 })
	<-done
	waitIdle(t, 0)
}
