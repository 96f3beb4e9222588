package sftpd

import "sync"

// Dispatcher runs the requests of one session with the ordering the SFTP
// draft asks for: requests on the same handle complete in the order
// received (one queue per handle), while requests on different handles and
// path requests run in parallel, at most maxInFlight queued or running at
// once. Responses may therefore leave out of order across handles; clients
// match them by request id.
//
// Submit, Barrier and Wait belong to the one goroutine that reads the
// session's requests; the jobs run on goroutines of their own.
type Dispatcher struct {
	slots chan struct{} // one token per job queued or running
	wg    sync.WaitGroup

	mu     sync.Mutex
	queues map[string]*queue // handles with a job running, and their waiting jobs
}

// queue holds the jobs waiting behind the running one of a handle.
type queue struct {
	jobs []func()
}

// NewDispatcher returns a Dispatcher with at most maxInFlight jobs queued or
// running (at least 1).
func NewDispatcher(maxInFlight int) *Dispatcher {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	return &Dispatcher{slots: make(chan struct{}, maxInFlight), queues: make(map[string]*queue)}
}

// Submit runs job after every job submitted earlier with the same handle
// has finished; a job with handle "" (a path request) runs at once. Submit
// blocks while maxInFlight jobs are queued or running, which bounds the
// session's memory and goroutines and pushes back on the client. Jobs
// waiting behind their handle count too: a client that fills the bound with
// requests on one handle holds back the others until that queue moves.
func (d *Dispatcher) Submit(handle string, job func()) {
	d.slots <- struct{}{}
	d.wg.Add(1)
	if handle == "" {
		go d.run(job)
		return
	}
	d.mu.Lock()
	if q, busy := d.queues[handle]; busy {
		q.jobs = append(q.jobs, job)
		d.mu.Unlock()
		return
	}
	q := &queue{}
	d.queues[handle] = q
	d.mu.Unlock()
	go d.drain(handle, q, job)
}

// drain runs job and then the jobs queued behind it on handle, in order,
// until the queue is empty.
func (d *Dispatcher) drain(handle string, q *queue, job func()) {
	for {
		d.run(job)
		d.mu.Lock()
		if len(q.jobs) == 0 {
			delete(d.queues, handle)
			d.mu.Unlock()
			return
		}
		job = q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		d.mu.Unlock()
	}
}

func (d *Dispatcher) run(job func()) {
	defer func() {
		<-d.slots
		d.wg.Done()
	}()
	job()
}

// Barrier waits for every job submitted so far and then runs job on the
// calling goroutine, so that it also precedes every job submitted after it:
// the place for requests that must see all earlier ones, whatever their
// handle.
func (d *Dispatcher) Barrier(job func()) {
	d.wg.Wait()
	job()
}

// Wait waits for every job submitted so far.
func (d *Dispatcher) Wait() { d.wg.Wait() }
