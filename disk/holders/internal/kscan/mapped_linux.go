package kscan

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ProbeMapped runs the mapped-files probe for objs (walking at most limit
// inodes of each filesystem) and returns its answer: MappedNone when
// nothing on them is mapped, so Scan may leave the walk of every mapping
// out. The descriptors in objs are the calling thread's, which must stay
// on it (runtime.LockOSThread): the probe reads that thread's descriptor
// table.
func ProbeMapped(l Layout, objs []MappedObject, limit int32) (int, error) {
	var p bpfProg
	l.mappedProgram(&p, objs, limit)
	code, err := p.assemble()
	if err != nil {
		return 0, err
	}
	prog, err := loadIterProgram("sc_mapped", code, l.iters["bpf_iter_task"])
	if err != nil {
		return 0, err
	}
	defer unix.Close(prog)
	out, err := runIteratorOn(prog, uint32(unix.Gettid()), 64)
	if err != nil {
		return 0, err
	}
	ans, err := decodeRecords[uint64](out, 8)
	if err != nil {
		return 0, err
	}
	if len(ans) != 1 {
		return 0, fmt.Errorf("mapped-files probe: %d answers, want 1", len(ans))
	}
	return int(ans[0]), nil
}
