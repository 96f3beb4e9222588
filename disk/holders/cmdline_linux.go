package holders

import (
	"bytes"
	"errors"
	"path"

	"golang.org/x/sys/unix"

	"simplecloud/disk/holders/internal/kscan"
)

// cmdline returns the command line of process pid, whose argument area and
// comm the BPF scan read into info: from the process's memory with one
// process_vm_readv where that gives what /proc/PID/cmdline would, and from
// /proc (dir is "PID/" there) otherwise. /proc costs an open, a read and a
// close, each a path walk or a page of kernel work, for every holder.
func (f *fastIO) cmdline(procFD int, dir string, pid int, info kscan.ProcInfo) ([]byte, error) {
	if b, ok := f.cmdlineVM(pid, info); ok {
		return b, nil
	}
	return f.readRecordAt(procFD, dir+"cmdline")
}

// cmdlineVM reads [ArgStart, ArgEnd) of the process's memory. It gives up
// (ok false) where /proc could say something else: no area, a read error
// or a short read, an area whose final NUL was overwritten (setproctitle,
// where the kernel reads on into the environment), or a first argument
// whose name does not match comm, which also catches a process that has
// exec'd since the scan read its area.
func (f *fastIO) cmdlineVM(pid int, info kscan.ProcInfo) ([]byte, bool) {
	n := info.ArgEnd - info.ArgStart
	if info.ArgStart == 0 || info.ArgEnd <= info.ArgStart || n > 1<<24 {
		return nil, false
	}
	if uint64(len(f.buf)) < n {
		f.buf = make([]byte, n)
	}
	b := f.buf[:n]
	local := []unix.Iovec{{Base: &b[0]}}
	local[0].SetLen(len(b))
	remote := []unix.RemoteIovec{{Base: uintptr(info.ArgStart), Len: len(b)}}
	for {
		got, err := unix.ProcessVMReadv(pid, local, remote, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got != len(b) || b[len(b)-1] != 0 {
			return nil, false
		}
		break
	}
	argv0 := b[:bytes.IndexByte(b, 0)]
	if comm := info.Command(); comm == "" || !matchesComm(string(argv0), comm) {
		return nil, false
	}
	return b, true
}

// matchesComm reports whether comm is the last element of argv0, as far
// as the kernel keeps it (15 bytes).
func matchesComm(argv0, comm string) bool {
	base := path.Base(argv0)
	if len(comm) == commMax && len(base) > commMax {
		base = base[:commMax]
	}
	return base == comm
}

// commMax is the longest comm the kernel keeps (TASK_COMM_LEN - 1).
const commMax = 15
