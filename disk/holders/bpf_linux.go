package holders

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpfProgLoad is the BPF_PROG_LOAD part of union bpf_attr, up to the
// fields the scan sets; the kernel takes a shorter attr as zero-filled.
type bpfProgLoad struct {
	progType, insnCnt            uint32
	insns, license               uint64
	logLevel, logSize            uint32
	logBuf                       uint64
	kernVersion, progFlags       uint32
	progName                     [16]byte
	progIfindex, expectedAttach  uint32
	progBTFFD, funcInfoRecSize   uint32
	funcInfo                     uint64
	funcInfoCnt, lineInfoRecSize uint32
	lineInfo                     uint64
	lineInfoCnt, attachBTFID     uint32
	attachBTFObjFD, _            uint32
}

func bpfCall(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for {
		fd, _, e := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		switch e {
		case 0:
			return int(fd), nil
		case unix.EINTR, unix.EAGAIN:
			continue
		}
		return -1, e
	}
}

// loadIterProgram loads a BPF_TRACE_ITER program attached to the iterator
// whose BTF function has id btfID. On a verifier error the error carries
// the verifier's log.
func loadIterProgram(name string, code []byte, btfID uint32) (int, error) {
	license := []byte("Dual BSD/GPL\x00")
	attr := bpfProgLoad{
		progType: unix.BPF_PROG_TYPE_TRACING, insnCnt: uint32(len(code) / 8),
		insns: uint64(uintptr(unsafe.Pointer(&code[0]))), license: uint64(uintptr(unsafe.Pointer(&license[0]))),
		expectedAttach: unix.BPF_TRACE_ITER, attachBTFID: btfID,
	}
	copy(attr.progName[:15], name)
	fd, err := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	// attr holds the buffers' addresses as integers, which do not keep
	// them alive for the collector.
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	if err == nil {
		return fd, nil
	}
	// Load again with the log on, to say why.
	log := make([]byte, 64<<10)
	attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
	if fd, err2 := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 == nil {
		unix.Close(fd)
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	if i := bytes.IndexByte(log, 0); i >= 0 {
		log = log[:i]
	}
	tail := string(log)
	if len(tail) > 600 {
		tail = "..." + tail[len(tail)-600:]
	}
	return -1, fmt.Errorf("load BPF program %s: %w: %s", name, err, tail)
}

// runIterator attaches a loaded iterator program, reads everything it
// writes and detaches it.
func runIterator(prog int) ([]byte, error) { return runIteratorOn(prog, 0, 32<<10) }

// runIteratorOn is runIterator for a task iterator that visits only the
// thread tid (all tasks when tid is 0), reading into a buffer of size
// bytes at first.
func runIteratorOn(prog int, tid uint32, size int) ([]byte, error) {
	link := struct {
		progFD, targetFD, attachType, flags uint32
		iterInfo                            uint64
		iterInfoLen, _                      uint32
	}{progFD: uint32(prog), attachType: unix.BPF_TRACE_ITER}
	info := struct{ tid, pid, pidFD uint32 }{tid: tid} // bpf_iter_link_info.task
	if tid != 0 {
		link.iterInfo, link.iterInfoLen = uint64(uintptr(unsafe.Pointer(&info))), uint32(unsafe.Sizeof(info))
	}
	linkFD, err := bpfCall(unix.BPF_LINK_CREATE, unsafe.Pointer(&link), unsafe.Sizeof(link))
	runtime.KeepAlive(&info)
	if err != nil {
		return nil, fmt.Errorf("attach BPF iterator: %w", err)
	}
	defer unix.Close(linkFD)
	create := struct{ linkFD, flags uint32 }{linkFD: uint32(linkFD)}
	fd, err := bpfCall(unix.BPF_ITER_CREATE, unsafe.Pointer(&create), unsafe.Sizeof(create))
	if err != nil {
		return nil, fmt.Errorf("create BPF iterator: %w", err)
	}
	defer unix.Close(fd)
	out := make([]byte, 0, size)
	for {
		if len(out) == cap(out) {
			out = slices.Grow(out, cap(out))
		}
		n, err := unix.Read(fd, out[len(out):cap(out)])
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read BPF iterator: %w", err)
		}
		if n == 0 {
			return out, nil
		}
		out = out[:len(out)+n]
	}
}

// readKernelBTF maps the running kernel's BTF (recent kernels let it be
// mapped; reading the 5 MB file through sysfs takes a page per call) or
// reads it. Call release when done with k.
func readKernelBTF(sysDir string) (k *kernelBTF, release func(), err error) {
	f, err := os.Open(sysDir + "/kernel/btf/vmlinux")
	if err != nil {
		return nil, nil, fmt.Errorf("read kernel BTF: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read kernel BTF: %w", err)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	release = func() { _ = unix.Munmap(b) }
	if err != nil {
		release = func() {}
		if b, err = io.ReadAll(f); err != nil {
			return nil, nil, fmt.Errorf("read kernel BTF: %w", err)
		}
	}
	if k, err = parseBTF(b); err != nil {
		release()
		return nil, nil, err
	}
	return k, release, nil
}

// loadLayout reads the field offsets and ids the programs need from the
// kernel's BTF.
func loadLayout(log *slog.Logger, sysDir string) (kernelLayout, error) {
	begin := time.Now()
	k, release, err := readKernelBTF(sysDir)
	if err != nil {
		return kernelLayout{}, err
	}
	defer release()
	l, err := newKernelLayout(k)
	if err != nil {
		return kernelLayout{}, err
	}
	log.Debug("read kernel BTF", "types", len(k.offs), "took", time.Since(begin))
	return l, nil
}

// bpfResult is what the iterators found.
type bpfResult struct {
	tasks []taskRecord
	files []fileRecord
	maps  []mapRecord
	// mapped is the mapped-files probe's answer (mappedNone, ...), -1
	// without one; the mappings were walked unless it is mappedNone.
	mapped int
}

// scanBPF runs the task, file and mapping iterators for devs; selfNS is
// the scanner's mount namespace (see taskProgram). When mapped is not nil
// it delivers the mapped-files probe's answer: the task program that
// leaves the mappings out is loaded meanwhile, and replaced by ones that
// walk them unless the answer is mappedNone.
func scanBPF(log *slog.Logger, l kernelLayout, devs []Dev, selfNS uint64, mapped <-chan int) (*bpfResult, error) {
	kdevs := make([]int32, len(devs))
	for i, d := range devs {
		kdevs[i] = kernelDev(d)
	}
	answer := -1
	run := newBPFRun(l, selfNS, mapped == nil)
	defer func() { run.close() }()
	err := run.load(l, kdevs)
	if mapped != nil {
		if answer = <-mapped; answer != mappedNone && err == nil {
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
	res := &bpfResult{maps: run.maps, mapped: answer}
	res.tasks, res.files = splitFDRecords(run.tasks, run.files)
	return res, nil
}

// bpfRun is one set of iterator programs and what they found.
type bpfRun struct {
	its   []*bpfIterator
	tasks [][]taskRecord
	files []fileRecord
	maps  []mapRecord
}

// bpfIterator is one iterator program: how to build it, its descriptor
// once loaded, and how to decode what it writes.
type bpfIterator struct {
	name, fn string
	build    func([]int32) ([]byte, error)
	decode   func([]byte) error
	prog     int
	loadTime time.Duration
}

// newBPFRun lists the programs of a scan. The task program is split in
// shards by thread-group id, one per CPU, when it walks the mappings,
// which is then most of the work; without them one program is cheaper
// than a second load.
func newBPFRun(l kernelLayout, selfNS uint64, walkMaps bool) *bpfRun {
	shards := 1
	if walkMaps {
		shards = min(runtime.NumCPU(), 4)
	}
	r := &bpfRun{tasks: make([][]taskRecord, shards)}
	for i := range shards {
		r.its = append(r.its, &bpfIterator{name: "sc_task", fn: "bpf_iter_task",
			build: l.taskProgram(int32(i), int32(shards), uint32(selfNS), walkMaps),
			decode: func(b []byte) (err error) {
				r.tasks[i], err = decodeRecords[taskRecord](b, taskRecordSize)
				return err
			}})
	}
	if !l.walksFDs() {
		r.its = append(r.its, &bpfIterator{name: "sc_file", fn: "bpf_iter_task_file", build: l.fileProgram,
			decode: func(b []byte) (err error) {
				r.files, err = decodeRecords[fileRecord](b, fileRecordSize)
				return err
			}})
	}
	if l.vmaNew == 0 && walkMaps {
		r.its = append(r.its, &bpfIterator{name: "sc_vma", fn: "bpf_iter_task_vma", build: l.mapProgram,
			decode: func(b []byte) (err error) {
				r.maps, err = decodeRecords[mapRecord](b, mapRecordSize)
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
func (r *bpfRun) load(l kernelLayout, devs []int32) error {
	return r.each(func(it *bpfIterator) error {
		code, err := it.build(devs)
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
