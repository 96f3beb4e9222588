package kscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
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
func loadLayout(log *slog.Logger, sysDir string) (Layout, error) {
	begin := time.Now()
	k, release, err := readKernelBTF(sysDir)
	if err != nil {
		return Layout{}, err
	}
	defer release()
	l, err := newKernelLayout(k)
	if err != nil {
		return Layout{}, err
	}
	log.Debug("read kernel BTF", "types", len(k.offs), "took", time.Since(begin))
	return l, nil
}
