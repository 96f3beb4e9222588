package kscan

import (
	"bytes"
	"fmt"
	"slices"
	"unsafe"
)

// Dev is a device number, as the holders package spells it (its Dev
// converts to this one).
type Dev struct{ Major, Minor uint32 }

// KDev is a device number in the kernel's encoding (MKDEV), as the
// programs compare and write it.
type KDev uint32

// kernelDev encodes a device number as the kernel stores it, as the
// immediate the programs compare with.
func kernelDev(d Dev) int32 { return int32(d.Major<<20 | d.Minor&0xfffff) }

// Dev decodes a device number in the kernel's encoding.
func (d KDev) Dev() Dev { return Dev{uint32(d) >> 20, uint32(d) & 0xfffff} }

// ProcInfo opens every record the programs write: the process the record
// belongs to, read from its thread-group leader, so that any record of a
// process names it (user, start time, command) without /proc.
type ProcInfo struct {
	TGID    uint32
	UID     uint32
	MountNS uint64
	StartNS uint64 // start_boottime, ns since boot
	// CSS is the leader's css_set: processes that share one are in the
	// same cgroups, so /proc/PID/cgroup is read once per css_set. 0 when
	// the kernel has no cgroups.
	CSS  uint64
	Comm [16]byte
	// ArgStart and ArgEnd bound the leader's argument strings in its
	// memory (0 when it has none, or was not read).
	ArgStart, ArgEnd uint64
}

// Command returns the leader's comm, without the NUL padding.
func (p *ProcInfo) Command() string {
	if i := bytes.IndexByte(p.Comm[:], 0); i >= 0 {
		return string(p.Comm[:i])
	}
	return string(p.Comm[:])
}

// StartTicks converts start_boottime to the clock ticks of field 22 of
// /proc/PID/stat (USER_HZ is 100 on every Linux architecture we build).
func (p *ProcInfo) StartTicks() uint64 { return p.StartNS / 10_000_000 }

// PathKey names a path by its mount and dentry (kernel addresses): two
// holds with the same key have the same path, read once.
type PathKey struct{ Mnt, Dentry uint64 }

// TaskRecord is what the task program writes for a thread that holds
// something, and for a thread-group leader that lives in another mount
// namespace than the scanner's. (It also writes one for each open file on
// the devices where it walks the descriptor tables; Scan hands those on as
// FileRecords.)
type TaskRecord struct {
	ProcInfo
	TID   uint32
	Kinds uint32 // bits, by the Kind constants
	// Devs are the devices the cwd, root, exe and a mapping lie on, where
	// Kinds says.
	Devs  [4]KDev
	FD    uint32  // for KindFD: the descriptor
	FDDev KDev    // and its device
	Path  PathKey // the cwd's (KindCwd) or the open file's (KindFD)
}

// Kinds a task record reports, as bit numbers.
const (
	KindCwd = iota
	KindRoot
	KindExe
	KindMap      // the leader maps a file on the devices
	KindMapsBusy // the leader's mappings were locked: read them from /proc
	KindKernel   // a kernel thread
	KindFD       // not a task but one of its open files (see TaskRecord)
)

// Has reports whether the record has kind (a Kind constant).
func (t *TaskRecord) Has(kind int) bool { return t.Kinds&(1<<kind) != 0 }

// FileRecord is what the file program (or, on recent kernels, the task
// program) writes for an open file on the devices.
type FileRecord struct {
	ProcInfo
	TID uint32 // the task whose descriptor table holds it
	FD  uint32
	Dev KDev
	_   uint32
	// Path is the file's, for reading the descriptor's link once per path.
	Path PathKey
}

// MapRecord is what the mapping program writes for a mapping of a file on
// the devices: which process maps it (the paths come from its maps).
type MapRecord struct{ ProcInfo }

// Sizes and offsets of the records, shared by the programs that write them
// and the decoder.
const (
	procInfoSize   = 64
	taskRecordSize = procInfoSize + 48
	fileRecordSize = procInfoSize + 32
	mapRecordSize  = procInfoSize

	// Offsets in a task record.
	taskTIDOff   = procInfoSize
	taskKindsOff = taskTIDOff + 4
	taskDevsOff  = taskTIDOff + 8
	taskFDOff    = taskTIDOff + 24
	taskPathOff  = taskTIDOff + 32
)

// decodeRecords reads the fixed-size records a program wrote, in the
// machine's own layout (the kernel wrote them from the same struct).
func decodeRecords[T any](b []byte, size int) ([]T, error) {
	var zero T
	if int(unsafe.Sizeof(zero)) != size {
		return nil, fmt.Errorf("read BPF iterator: record of %d bytes, want %d", unsafe.Sizeof(zero), size)
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("read BPF iterator: %d bytes is not a whole number of %d-byte records", len(b), size)
	}
	out := make([]T, len(b)/size)
	if len(out) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
	}
	return out, nil
}

// splitFDRecords moves the task programs' records of open files (from
// every shard) to the file records. It sizes its slices first: fresh
// memory costs a page fault per page.
func splitFDRecords(shards [][]TaskRecord, files []FileRecord) ([]TaskRecord, []FileRecord) {
	nt, nf := 0, len(files)
	for _, tasks := range shards {
		for i := range tasks {
			if tasks[i].Has(KindFD) {
				nf++
			} else {
				nt++
			}
		}
	}
	out := make([]TaskRecord, 0, nt)
	files = slices.Grow(files, nf-len(files))
	for _, tasks := range shards {
		for i := range tasks {
			t := &tasks[i]
			if t.Has(KindFD) {
				files = append(files, FileRecord{ProcInfo: t.ProcInfo, TID: t.TID, FD: t.FD, Dev: t.FDDev, Path: t.Path})
			} else {
				out = append(out, *t)
			}
		}
	}
	return out, files
}
