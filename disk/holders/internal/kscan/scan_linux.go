package kscan

import (
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Result is what the iterators found.
type Result struct {
	Tasks []TaskRecord
	Files []FileRecord
	Maps  []MapRecord
	// Mapped is the mapped-files probe's answer (MappedNone, ...), -1
	// without one; the mappings were walked unless it is MappedNone.
	Mapped int
}

// Scan runs the task, file and mapping iterators for devs; selfNS is the
// scanner's mount namespace (the task program writes a record for every
// leader in another one). When mapped is not nil it delivers the
// mapped-files probe's answer (see ProbeMapped): the task program that
// leaves the mappings out is loaded meanwhile, and replaced by ones that
// walk them unless the answer is MappedNone.
func Scan(log *slog.Logger, l Layout, devs []Dev, selfNS uint64, mapped <-chan int) (*Result, error) {
	kdevs := make([]int32, len(devs))
	for i, d := range devs {
		kdevs[i] = kernelDev(d)
	}
	answer := -1
	run := newBPFRun(l, selfNS, mapped == nil)
	defer func() { run.close() }()
	err := run.load(l, kdevs)
	if mapped != nil {
		if answer = <-mapped; answer != MappedNone && err == nil {
			run.close()
			run = newBPFRun(l, selfNS, true)
			err = run.load(l, kdevs)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := run.run(log); err != nil {
		return nil, err
	}
	res := &Result{Maps: run.maps, Mapped: answer}
	res.Tasks, res.Files = splitFDRecords(run.tasks, run.files)
	return res, nil
}

// bpfRun is one set of iterator programs and what they found.
type bpfRun struct {
	its   []*bpfIterator
	tasks [][]TaskRecord
	files []FileRecord
	maps  []MapRecord
}

// bpfIterator is one iterator program: how to build it, its descriptor
// once loaded, and how to decode what it writes.
type bpfIterator struct {
	name, fn string
	build    func(p *bpfProg, devs []int32)
	decode   func([]byte) error
	prog     int
	loadTime time.Duration
}

// newBPFRun lists the programs of a scan. The task program is split in
// shards by thread-group id, one per CPU, when it walks the mappings,
// which is then most of the work; without them one program is cheaper
// than a second load.
func newBPFRun(l Layout, selfNS uint64, walkMaps bool) *bpfRun {
	shards := 1
	if walkMaps {
		shards = min(runtime.NumCPU(), 4)
	}
	r := &bpfRun{tasks: make([][]TaskRecord, shards)}
	for i := range shards {
		r.its = append(r.its, &bpfIterator{name: "sc_task", fn: "bpf_iter_task",
			build: func(p *bpfProg, devs []int32) {
				l.taskProgram(p, devs, int32(i), int32(shards), uint32(selfNS), walkMaps)
			},
			decode: func(b []byte) (err error) {
				r.tasks[i], err = decodeRecords[TaskRecord](b, taskRecordSize)
				return err
			}})
	}
	if !l.walksFDs() {
		r.its = append(r.its, &bpfIterator{name: "sc_file", fn: "bpf_iter_task_file", build: l.fileProgram,
			decode: func(b []byte) (err error) {
				r.files, err = decodeRecords[FileRecord](b, fileRecordSize)
				return err
			}})
	}
	if l.vmaNew == 0 && walkMaps {
		r.its = append(r.its, &bpfIterator{name: "sc_vma", fn: "bpf_iter_task_vma", build: l.mapProgram,
			decode: func(b []byte) (err error) {
				r.maps, err = decodeRecords[MapRecord](b, mapRecordSize)
				return err
			}})
	}
	for _, it := range r.its {
		it.prog = -1
	}
	return r
}

// each runs f for every program at once and joins their errors: the
// kernel verifies, and runs, each on its own CPU.
func (r *bpfRun) each(f func(it *bpfIterator) error) error {
	errs := make([]error, len(r.its))
	var wg sync.WaitGroup
	for i, it := range r.its {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(it)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// load builds and loads every program.
func (r *bpfRun) load(l Layout, devs []int32) error {
	return r.each(func(it *bpfIterator) error {
		var p bpfProg
		it.build(&p, devs)
		code, err := p.assemble()
		if err != nil {
			return err
		}
		begin := time.Now()
		it.prog, err = loadIterProgram(it.name, code, l.iters[it.fn])
		it.loadTime = time.Since(begin)
		return err
	})
}

// run runs every loaded program and decodes what it wrote.
func (r *bpfRun) run(log *slog.Logger) error {
	return r.each(func(it *bpfIterator) error {
		begin := time.Now()
		out, err := runIterator(it.prog)
		if err != nil {
			return err
		}
		log.Debug("ran BPF iterator", "iterator", it.fn, "load", it.loadTime, "run", time.Since(begin), "bytes", len(out))
		return it.decode(out)
	})
}

// close unloads the programs.
func (r *bpfRun) close() {
	for _, it := range r.its {
		if it.prog >= 0 {
			unix.Close(it.prog)
			it.prog = -1
		}
	}
}
