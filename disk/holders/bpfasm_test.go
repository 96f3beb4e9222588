package holders

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

func TestAssemble(t *testing.T) {
	var p bpfProg
	p.movReg(r1, r10)              // bf a1
	p.load(sizeDW, r7, r6, 8)      // 79 67 +8
	p.jumpEq(r7, 0, "out")         // 15 07 +2
	p.storeImm(sizeDW, r10, -8, 0) // 7a 0a -8
	p.call(helperProbeReadKernel)  // 85 00 imm 113
	p.mark("out")                  //
	p.callKfunc(5)                 // 85 20 imm 5
	p.mark("end")                  // two labels in a row: a ja +0 between
	p.mark("end2")                 //
	p.movImm(r0, -1)               // b7 00 imm -1
	p.exit()                       // 95
	p.jumpNeReg(r1, r2, "out")     // 5d 21 back to "out"
	got, err := p.assemble()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"bfa1000000000000",
		"7967080000000000",
		"1507020000000000",
		"7a0af8ff00000000",
		"8500000071000000",
		"8520000005000000",
		"0500000000000000",
		"b7000000ffffffff",
		"9500000000000000",
		"5d21fbff00000000",
	}, "")
	if hex.EncodeToString(got) != want {
		t.Errorf("got  %x\nwant %s", got, want)
	}
	for name, build := range map[string]func(p *bpfProg){
		"undefined": func(p *bpfProg) { p.jump("nowhere"); p.exit() },
		"twice":     func(p *bpfProg) { p.mark("a"); p.exit(); p.mark("a"); p.exit() },
		"trailing":  func(p *bpfProg) { p.exit(); p.mark("a") },
	} {
		var p bpfProg
		build(&p)
		if _, err := p.assemble(); err == nil {
			t.Errorf("%s label: got no error", name)
		}
	}
}

// fakeLayout has distinct made-up offsets, as if read from BTF.
func fakeLayout(vmaIter bool) kernelLayout {
	var l kernelLayout
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
		if back := userDev(uint32(kdevs[i])); back != d {
			t.Errorf("kernelDev(%s) = %#x decodes to %s", d, kdevs[i], back)
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

func TestDecodeRecords(t *testing.T) {
	// Two file records as the file program writes them.
	var b []byte
	for _, r := range []struct{ tgid, uid, fd, dev uint32 }{{1, 1000, 3, 7 << 20}, {2, 0, 4, 0}} {
		b = binary.NativeEndian.AppendUint32(b, r.tgid)
		b = binary.NativeEndian.AppendUint32(b, r.uid)
		for _, v := range []uint64{4026531841, 5_000_000_000, 0xffff888012345678} { // namespace, start, css_set
			b = binary.NativeEndian.AppendUint64(b, v)
		}
		b = append(b, "sleep\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
		b = binary.NativeEndian.AppendUint64(b, 0x7ffc00001000) // arguments
		b = binary.NativeEndian.AppendUint64(b, 0x7ffc00001010)
		b = binary.NativeEndian.AppendUint32(b, r.tgid+1) // the thread
		b = binary.NativeEndian.AppendUint32(b, r.fd)
		b = binary.NativeEndian.AppendUint32(b, r.dev)
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = binary.NativeEndian.AppendUint64(b, 0xffff888000001000) // mount
		b = binary.NativeEndian.AppendUint64(b, 0xffff888000002000) // dentry
	}
	got, err := decodeRecords[fileRecord](b, fileRecordSize)
	if err != nil || len(got) != 2 || got[0].TGID != 1 || got[0].UID != 1000 || got[0].FD != 3 ||
		userDev(got[0].Dev) != (Dev{7, 0}) || got[1].FD != 4 || got[1].MountNS != 4026531841 ||
		got[1].TID != 3 || got[1].StartNS != 5_000_000_000 || got[1].ArgEnd != 0x7ffc00001010 || got[1].CSS != 0xffff888012345678 || commString(got[1].Comm) != "sleep" ||
		got[1].Path != (pathKey{0xffff888000001000, 0xffff888000002000}) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := decodeRecords[fileRecord](b[:20], fileRecordSize); err == nil {
		t.Error("a partial record: got no error")
	}
	if _, err := decodeRecords[fileRecord](b, 8); err == nil {
		t.Error("wrong record size: got no error")
	}
	if got, err := decodeRecords[taskRecord](nil, taskRecordSize); err != nil || len(got) != 0 {
		t.Errorf("no records: got %v, %v", got, err)
	}
	// The sizes the programs write are the sizes of the Go records.
	if _, err := decodeRecords[mapRecord](nil, mapRecordSize); err != nil {
		t.Error(err)
	}
	if commString([16]byte{'s', 'l', 'e', 'e', 'p'}) != "sleep" || clockTicks(1_234_000_000) != 123 {
		t.Error("commString or clockTicks")
	}
}

func TestSplitFDRecords(t *testing.T) {
	info := procInfo{TGID: 42, UID: 1000, StartNS: 7}
	tasks := []taskRecord{
		{procInfo: info, TID: 42, Kinds: 1 << taskCwd},
		{procInfo: info, TID: 42, Kinds: 1 << taskFD, FD: 5, FDDev: 7 << 20, Path: pathKey{1, 2}},
		{procInfo: info, TID: 43, Kinds: 1 << taskRoot},
	}
	got, files := splitFDRecords([][]taskRecord{tasks[:1], tasks[1:]}, []fileRecord{{procInfo: procInfo{TGID: 9}, FD: 1}})
	if len(got) != 2 || got[0].TID != 42 || got[1].TID != 43 {
		t.Errorf("tasks: got %+v", got)
	}
	want := fileRecord{procInfo: info, TID: 42, FD: 5, Dev: 7 << 20, Path: pathKey{1, 2}}
	if len(files) != 2 || files[0].TGID != 9 || files[1] != want {
		t.Errorf("files: got %+v, want the old one and %+v", files, want)
	}
}
