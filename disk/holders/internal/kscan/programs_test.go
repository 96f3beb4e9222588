package kscan

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// fakeLayout has distinct made-up offsets, as if read from BTF.
func fakeLayout(vmaIter bool) Layout {
	var l Layout
	for i, f := range l.fields() {
		*f.dst = int32(8 * (i + 1))
	}
	l.task, l.file, l.vma, l.rdonlyCast = 101, 102, 103, 104
	if vmaIter {
		l.vmaNew, l.vmaNext, l.vmaDestroy = 105, 106, 107
		l.numNew, l.numNext, l.numDestroy = 108, 109, 110
	}
	return l
}

// TestPrograms builds each program and checks it compares with every
// device, ends in exit, and calls the VMA kfuncs only where they exist.
func TestPrograms(t *testing.T) {
	devs := []Dev{{253, 0}, {7, 3}, {259, 1 << 19}}
	kdevs := make([]int32, len(devs))
	for i, d := range devs {
		kdevs[i] = kernelDev(d)
		if back := KDev(kdevs[i]).Dev(); back != d {
			t.Errorf("kernelDev(%v) = %#x decodes to %v", d, kdevs[i], back)
		}
	}
	for _, vmaIter := range []bool{true, false} {
		l := fakeLayout(vmaIter)
		for name, build := range map[string]func([]int32) ([]byte, error){
			"task": l.taskProgram(1, 2, 0xf0000001, true), "file": l.fileProgram, "map": l.mapProgram,
		} {
			code, err := build(kdevs)
			if err != nil {
				t.Fatalf("%s program: %v", name, err)
			}
			if len(code)%8 != 0 || !bytes.HasSuffix(code, []byte{0x95, 0, 0, 0, 0, 0, 0, 0}) {
				t.Errorf("%s program does not end in exit", name)
			}
			for _, d := range kdevs {
				// jeq32 r1, imm: the device as an immediate.
				needle := append([]byte{0x16, 0x01, 0, 0}, binary.LittleEndian.AppendUint32(nil, uint32(d))...)
				if !containsInsn(code, needle) {
					t.Errorf("%s program (vma iterator %v): no comparison with %#x", name, vmaIter, d)
				}
			}
			// The scanner's own namespace, compared in 32 bits (inode
			// numbers of namespaces have the top bit set).
			ns := containsInsn(code, []byte{0x16, 0x01, 0, 0, 0x01, 0, 0, 0xf0})
			if ns != (name == "task") {
				t.Errorf("%s program (vma iterator %v): compares the namespace: %v", name, vmaIter, ns)
			}
			// The task program walks the descriptor tables itself where
			// the kernel has the number iterator (the file program is not
			// run then).
			fds := containsInsn(code, []byte{0x85, 0x20, 0, 0, 108, 0, 0, 0})
			if want := vmaIter && name == "task"; fds != want || l.walksFDs() != vmaIter {
				t.Errorf("%s program (vma iterator %v): calls bpf_iter_num_new: %v, want %v", name, vmaIter, fds, want)
			}
			kfunc := containsInsn(code, []byte{0x85, 0x20, 0, 0, 105, 0, 0, 0})
			if want := vmaIter && name == "task"; kfunc != want {
				t.Errorf("%s program (vma iterator %v): calls bpf_iter_task_vma_new: %v, want %v", name, vmaIter, kfunc, want)
			}
		}
	}
}

// containsInsn reports whether code holds insn, ignoring the jump offset.
func containsInsn(code, insn []byte) bool {
	for i := 0; i+8 <= len(code); i += 8 {
		if code[i] == insn[0] && code[i+1] == insn[1] && bytes.Equal(code[i+4:i+8], insn[4:8]) {
			return true
		}
	}
	return false
}
