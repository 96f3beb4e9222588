package scan

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// A walk runs in three parts at once. The walker (a goroutine of its own)
// lists each directory and makes the entries it needs to go on (its
// subdirectories'); the pool's goroutines make the files' entries (the
// stats, the attribute reads, the hashing); the reporter, on the caller's
// goroutine, hands the entries to the callback in walk order, as each
// chunk is made, and fills the next index's blocks. So the walker lists
// the next directories while the pool stats the files of the last ones
// and the callback takes those before: on a client's re-sync of 100,000
// files, listing, stat'ing and building the snapshot took turns before,
// and a quarter of the machine's two cores stood idle.

// errStopped ends the walker once the reporter has stopped (the
// callback's error, which is what the walk returns).
var errStopped = errors.New("walk stopped")

// reporter is one walk's channel from the walker to the callback.
type reporter struct {
	q         chan batch
	free      chan []result // the Scanner's chunk buffers, which its walks share
	freeItems chan []item   // and its listing buffers
	stop      atomic.Bool   // the callback failed or gave up: the walker stops
	ix        *Index
	lost      []PathError // the made entries' Unscanned, for the Summary
}

// batch is a run of a chunk's results, in walk order, or (end set) the
// end of a directory.
type batch struct {
	res      []result
	from, to int
	next     *nextBlock    // the directory's, nil without an index
	done     chan struct{} // closed once the pool made the chunk's files; nil: made
	release  bool          // the chunk's last batch: res is done with after it
	end      *dirEnd
}

// dirEnd is a directory all of whose entries were sent: its block of the
// next index is complete, and its handle and listing (which the pool
// used) are done with.
type dirEnd struct {
	dir, handle string
	next        *nextBlock
	d           *rootfs.Dir
	items       []item
}

// queued is how many batches the walker may be ahead of the callback.
const queued = 32

// report runs walk, the walker, in a goroutine of its own beside the pool,
// and hands what it sends to fn on this one. It returns fn's error, else
// walk's.
func (s *Scanner) report(fn func(*Entry) error, walk func() error) error {
	r := &reporter{q: make(chan batch, queued), free: s.free, freeItems: s.freeItems, ix: s.ix}
	s.rep, s.pool = r, s.startPool()
	defer func() { s.rep, s.pool = nil, nil }()
	var werr error
	go func() {
		defer close(r.q)
		werr = walk()
	}()
	// A callback that panics or exits its goroutine (a test's Fatal)
	// leaves a walker and a pool that must still finish, and directories
	// to close once the pool is done with them.
	defer func() {
		r.stop.Store(true)
		for b := range r.q {
			r.take(b, nil)
		}
		s.pool.stop()
	}()
	var ferr error
	for b := range r.q {
		if err := r.take(b, fn); err != nil && ferr == nil {
			ferr = err
			r.stop.Store(true)
			fn = nil
		}
	}
	s.sum.Unscanned = append(s.sum.Unscanned, r.lost...)
	if ferr != nil {
		return ferr
	}
	return werr
}

// take hands the entries of b to fn (none when nil), once they are made,
// and returns fn's error.
func (r *reporter) take(b batch, fn func(*Entry) error) error {
	if b.end != nil {
		if b.end.next != nil {
			r.ix.finishBlock(b.end.dir, b.end.handle, b.end.next)
		}
		b.end.d.Close()
		if b.end.items != nil {
			select {
			case r.freeItems <- b.end.items:
			default:
			}
		}
		return nil
	}
	if b.done != nil {
		<-b.done
	}
	var err error
	for i := b.from; i < b.to; i++ {
		res := &b.res[i]
		if res.lost != nil {
			r.lost = append(r.lost, *res.lost)
		}
		if res.ok && fn != nil && err == nil {
			err = fn(&res.e)
		}
		if res.rec.remembered && b.next != nil {
			b.next.add(&res.rec)
		}
		*res = result{}
	}
	if b.release {
		select {
		case r.free <- b.res[:cap(b.res)]:
		default:
		}
	}
	return err
}

// buffer returns an empty buffer for n results (at most chunk). One
// that comes back is empty: the reporter clears every result it takes,
// the subtree items' are never written, and a buffer the reporter did not
// take all of (the walk stopped short) is not given back.
func (r *reporter) buffer(n int) []result {
	select {
	case b := <-r.free:
		return b[:n]
	default:
		return make([]result, n, chunk)
	}
}

// items returns a buffer for a directory's listing.
func (r *reporter) items() []item {
	select {
	case b := <-r.freeItems:
		return b
	default:
		return nil
	}
}

// send queues b for the callback.
func (r *reporter) send(b batch) {
	if b.from < b.to || b.release || b.done != nil {
		r.q <- b
	}
}

// finish queues the end of a directory, whose entries were all sent.
func (r *reporter) finish(end *dirEnd) { r.q <- batch{end: end} }

// stopped reports whether the reporter stopped: the walk is to end.
func (r *reporter) stopped() bool { return r.stop.Load() }

// pool is a walk's goroutines that make files' entries, one per worker
// but the first (the walker's).
type pool struct {
	jobs chan job
	n    int
	wg   sync.WaitGroup
}

// job is a pool goroutine's share of a chunk: the files at k, k+step, ...
type job struct {
	c       *chunkJob
	k, step int
}

// chunkJob is a chunk whose files the pool makes.
type chunkJob struct {
	d    *rootfs.Dir
	part []item
	res  []result
	left atomic.Int32 // shares not done yet
	done chan struct{}
}

// startPool starts the pool of a walk; nil with one worker (the walker
// makes every entry).
func (s *Scanner) startPool() *pool {
	if len(s.workers) < 2 {
		return nil
	}
	p := &pool{jobs: make(chan job, queued), n: len(s.workers) - 1}
	for _, w := range s.workers[1:] {
		p.wg.Go(func() {
			for j := range p.jobs {
				j.run(w)
			}
		})
	}
	return p
}

// submit has the pool make the files of part (in d) into res; the
// channel is closed once it has.
func (p *pool) submit(d *rootfs.Dir, part []item, res []result) chan struct{} {
	c := &chunkJob{d: d, part: part, res: res, done: make(chan struct{})}
	c.left.Store(int32(p.n))
	for k := range p.n {
		p.jobs <- job{c: c, k: k, step: p.n}
	}
	return c.done
}

func (j job) run(w *worker) {
	w.trust = false
	c := j.c
	for i := j.k; i < len(c.part); i += j.step {
		if it := &c.part[i]; !it.sub && it.typ == unix.DT_REG {
			w.make(c.d, it, &c.res[i])
		}
	}
	if c.left.Add(-1) == 0 {
		close(c.done)
	}
}

// stop ends the pool's goroutines once they are done.
func (p *pool) stop() {
	if p != nil {
		close(p.jobs)
		p.wg.Wait()
	}
}
