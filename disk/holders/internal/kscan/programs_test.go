package kscan

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeLayout has distinct made-up offsets (from 1000 up, apart from the
// context's and the stack's) and ids, as if read from BTF: a kernel with
// every kfunc the programs use (Linux 6.7+) when recent, and a 5.12
// kernel, with none, otherwise.
func fakeLayout(recent bool) Layout {
	var l Layout
	for i, f := range l.fields() {
		*f.dst = int32(1000 + 8*i)
	}
	l.task, l.file, l.vma, l.inode = 1001, 1002, 1003, 1004
	if recent {
		l.rdonlyCast = 2001
		l.vmaNew, l.vmaNext, l.vmaDestroy = 2002, 2003, 2004
		l.numNew, l.numNext, l.numDestroy = 2005, 2006, 2007
	}
	return l
}

// build assembles what emit emits.
func build(t *testing.T, emit func(p *bpfProg)) (*bpfProg, []byte) {
	t.Helper()
	var p bpfProg
	emit(&p)
	code, err := p.assemble()
	if err != nil {
		t.Fatal(err)
	}
	return &p, code
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
	for _, recent := range []bool{true, false} {
		l := fakeLayout(recent)
		for name, emit := range map[string]func(p *bpfProg){
			"task": func(p *bpfProg) { l.taskProgram(p, kdevs, 1, 2, 0xf0000001, true) },
			"file": func(p *bpfProg) { l.fileProgram(p, kdevs) },
			"map":  func(p *bpfProg) { l.mapProgram(p, kdevs) },
		} {
			_, code := build(t, emit)
			if len(code)%8 != 0 || !bytes.HasSuffix(code, []byte{0x95, 0, 0, 0, 0, 0, 0, 0}) {
				t.Errorf("%s program does not end in exit", name)
			}
			for _, d := range kdevs {
				// jeq32 r1, imm: the device as an immediate.
				needle := append([]byte{0x16, 0x01, 0, 0}, binary.LittleEndian.AppendUint32(nil, uint32(d))...)
				if !containsInsn(code, needle) {
					t.Errorf("%s program (recent kernel %v): no comparison with %#x", name, recent, d)
				}
			}
			// The scanner's own namespace, compared in 32 bits (inode
			// numbers of namespaces have the top bit set).
			ns := containsInsn(code, []byte{0x16, 0x01, 0, 0, 0x01, 0, 0, 0xf0})
			if ns != (name == "task") {
				t.Errorf("%s program (recent kernel %v): compares the namespace: %v", name, recent, ns)
			}
			// The task program walks the descriptor tables itself where
			// the kernel has the number iterator (the file program is not
			// run then).
			fds := containsInsn(code, kfuncCall(2005))
			if want := recent && name == "task"; fds != want || l.walksFDs() != recent {
				t.Errorf("%s program (recent kernel %v): calls bpf_iter_num_new: %v, want %v", name, recent, fds, want)
			}
			kfunc := containsInsn(code, kfuncCall(2002))
			if want := recent && name == "task"; kfunc != want {
				t.Errorf("%s program (recent kernel %v): calls bpf_iter_task_vma_new: %v, want %v", name, recent, kfunc, want)
			}
		}
	}
}

// kfuncCall is the instruction that calls the kfunc with BTF id id.
func kfuncCall(id uint32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{0x85, 0x20, 0, 0}, id)
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

// TestProgramListings compares the disassembly of each program, as built
// for two devices (253:0 and 7:3) with the made-up layout of fakeLayout,
// with testdata/NAME.golden; go test -update rewrites the files. Loads
// and stores name the field their offset stands for, and calls the kfunc.
func TestProgramListings(t *testing.T) {
	devs := []int32{kernelDev(Dev{253, 0}), kernelDev(Dev{7, 3})}
	const selfNS = 0xf0000001
	recent, old := fakeLayout(true), fakeLayout(false)
	for _, c := range []struct {
		name, about string
		l           Layout
		emit        func(p *bpfProg)
	}{
		{"task", "the task program, shard 1 of 2, walking descriptors and mappings (Linux 6.7+)", recent,
			func(p *bpfProg) { recent.taskProgram(p, devs, 1, 2, selfNS, true) }},
		{"task-nomaps", "the task program when the probe found nothing mapped: one shard, no walk of the mappings", recent,
			func(p *bpfProg) { recent.taskProgram(p, devs, 0, 1, selfNS, false) }},
		{"task-5.12", "the task program on Linux 5.12 (no kfuncs: the file and vma programs do the walks)", old,
			func(p *bpfProg) { old.taskProgram(p, devs, 0, 1, selfNS, true) }},
		{"file-5.12", "the file program (task_file iterator) on Linux 5.12", old,
			func(p *bpfProg) { old.fileProgram(p, devs) }},
		{"vma-5.12", "the mapping program (task_vma iterator) on Linux 5.12", old,
			func(p *bpfProg) { old.mapProgram(p, devs) }},
		{"mapped", "the mapped-files probe: a filesystem open as fd 3, a block device as fd 4, 1024 inodes at most", recent,
			func(p *bpfProg) { recent.mappedProgram(p, []MappedObject{{FD: 3}, {FD: 4, BlockDev: true}}, 1024) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, code := build(t, c.emit)
			labels := map[int]string{}
			for i, in := range p.insns {
				if in.label != "" {
					labels[i] = in.label
				}
			}
			got := fmt.Sprintf("; %s\n; %d instructions\n%s", c.about, len(code)/8, disasm(code, labels, c.l.annotate))
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("the %s program changed (go test -update rewrites %s after a review of the diff):\n%s", c.name, path, lineDiff(string(want), got))
			}
		})
	}
}

// annotate names the field behind a load, store or addition of one of
// fakeLayout's offsets (which are distinct), and the kfunc called.
func (l Layout) annotate(op, dst, src uint8, off int16, imm int32) string {
	for name, id := range l.kfuncs() {
		if op == 0x85 && src == 2 && imm == *id {
			return name
		}
	}
	at, prefix := int32(off), "" // of a load or store
	switch {
	case op == 0x07 && imm < 0: // from a member to its struct
		at, prefix = -imm, "container_of "
	case op == 0x07: // from a struct to a member
		at = imm
	}
	for _, f := range l.fields() {
		if at >= 1000 && *f.dst == at {
			return prefix + f.strct + "." + f.field
		}
	}
	return ""
}

// lineDiff returns the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b []byte
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if !bytes.Equal(a, b) {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, a, b)
		}
	}
	return ""
}
