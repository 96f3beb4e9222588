package holders

import (
	"bytes"
	"fmt"
	"unsafe"
)

// The BPF scan runs a program for every task (BPF_TRACE_ITER), which on
// recent kernels also walks the task's descriptor table and mappings with
// open-coded iterators; older kernels get the task_file and task_vma
// iterators for those. The programs write a small record for each thing
// that lies on one of the devices: the kernel walks its own lists, instead
// of a few dozen /proc reads per process. Every read of kernel memory is a
// load the verifier checks against the running kernel's BTF (or
// bpf_probe_read_kernel), at an offset taken from that BTF, so a changed
// layout gives a wrong answer to a field we name, never a crash; the
// programs are built here with the devices as constants, so they need no
// BPF maps.

// kernelLayout holds the field offsets the programs read.
type kernelLayout struct {
	taskTgid, taskPid, taskFS, taskMM, taskNSProxy, taskCred, taskStart, taskComm int32
	fsPwd, fsRoot, dentrySB, sbDev, mmExe, fileInode                              int32
	inodeSB, inodeMode, inodeRdev, nsproxyMnt, mntnsInum, credUID, vmaFile        int32
	taskGroupLeader, fsPwdMnt, fileMnt, fileDentry                                int32
	taskCgroups                                                                   int32 // -1: no cgroups
	taskFiles, filesFdt, fdtMaxFds, fdtFd, fdtOpenFds                             int32
	mmArgStart, mmArgEnd                                                          int32
	// Where the mapped-files probe looks (-1 where the kernel lacks one).
	sbInodes, inodeSbList, inodeMapping, mappingMmap, fileMapping int32
	// task, file and vma are the BTF ids of the structs the iterators
	// pass; rdonlyCast, vmaNew, vmaNext and vmaDestroy those of kfuncs
	// (0 where the kernel lacks them).
	task, file, vma, inode                  int32
	rdonlyCast, vmaNew, vmaNext, vmaDestroy int32
	numNew, numNext, numDestroy             int32
	// iters are the BTF ids of the iterators' functions, by name.
	iters map[string]uint32
}

// structs are the structs whose BTF ids the programs need.
func (l *kernelLayout) structs() map[string]*int32 {
	return map[string]*int32{"task_struct": &l.task, "file": &l.file, "vm_area_struct": &l.vma, "inode": &l.inode}
}

// kfuncs are the kfuncs the programs use where the kernel has them.
func (l *kernelLayout) kfuncs() map[string]*int32 {
	return map[string]*int32{"bpf_rdonly_cast": &l.rdonlyCast, "bpf_iter_task_vma_new": &l.vmaNew,
		"bpf_iter_task_vma_next": &l.vmaNext, "bpf_iter_task_vma_destroy": &l.vmaDestroy,
		"bpf_iter_num_new": &l.numNew, "bpf_iter_num_next": &l.numNext, "bpf_iter_num_destroy": &l.numDestroy}
}

// layoutFields names where each offset comes from.
func (l *kernelLayout) fields() []layoutField {
	return []layoutField{
		{&l.taskTgid, "task_struct", "tgid"}, {&l.taskPid, "task_struct", "pid"},
		{&l.taskFS, "task_struct", "fs"}, {&l.taskMM, "task_struct", "mm"},
		{&l.taskNSProxy, "task_struct", "nsproxy"}, {&l.taskCred, "task_struct", "real_cred"},
		{&l.taskStart, "task_struct", "start_boottime"}, {&l.taskComm, "task_struct", "comm"},
		{&l.fsPwd, "fs_struct", "pwd.dentry"}, {&l.fsRoot, "fs_struct", "root.dentry"},
		{&l.dentrySB, "dentry", "d_sb"}, {&l.sbDev, "super_block", "s_dev"},
		{&l.mmExe, "mm_struct", "exe_file"}, {&l.fileInode, "file", "f_inode"},
		{&l.inodeSB, "inode", "i_sb"}, {&l.inodeMode, "inode", "i_mode"}, {&l.inodeRdev, "inode", "i_rdev"},
		{&l.nsproxyMnt, "nsproxy", "mnt_ns"}, {&l.mntnsInum, "mnt_namespace", "ns.inum"},
		{&l.credUID, "cred", "uid.val"}, {&l.vmaFile, "vm_area_struct", "vm_file"},
		{&l.taskGroupLeader, "task_struct", "group_leader"}, {&l.fsPwdMnt, "fs_struct", "pwd.mnt"},
		{&l.fileMnt, "file", "f_path.mnt"}, {&l.fileDentry, "file", "f_path.dentry"},
		{&l.taskCgroups, "task_struct", "cgroups"},
		{&l.taskFiles, "task_struct", "files"}, {&l.filesFdt, "files_struct", "fdt"},
		{&l.fdtMaxFds, "fdtable", "max_fds"}, {&l.fdtFd, "fdtable", "fd"}, {&l.fdtOpenFds, "fdtable", "open_fds"},
		{&l.mmArgStart, "mm_struct", "arg_start"}, {&l.mmArgEnd, "mm_struct", "arg_end"},
		{&l.sbInodes, "super_block", "s_inodes"}, {&l.inodeSbList, "inode", "i_sb_list"},
		{&l.inodeMapping, "inode", "i_mapping"}, {&l.fileMapping, "file", "f_mapping"},
		{&l.mappingMmap, "address_space", "i_mmap.rb_root.rb_node"},
	}
}

// layoutField is one offset of the layout and where it comes from.
type layoutField struct {
	dst          *int32
	strct, field string
}

// optionalFields are the fields the programs can do without (-1 then):
// a kernel without cgroups has no task_struct.cgroups.
var optionalFields = map[string]bool{"task_struct.cgroups": true,
	"super_block.s_inodes": true, "inode.i_sb_list": true, "inode.i_mapping": true, "file.f_mapping": true,
	"address_space.i_mmap.rb_root.rb_node": true}

// iterFuncs are the BTF functions of the iterators the programs attach to.
var iterFuncs = []string{"bpf_iter_task", "bpf_iter_task_file", "bpf_iter_task_vma"}

// newKernelLayout reads the offsets from the kernel's BTF, and indexes the
// iterator functions too.
func newKernelLayout(k *kernelBTF) (kernelLayout, error) {
	var l kernelLayout
	var wants []btfName
	for _, f := range l.fields() {
		wants = append(wants, btfName{btfStruct, f.strct})
	}
	for _, f := range iterFuncs {
		wants = append(wants, btfName{btfFunc, f})
	}
	for name := range l.kfuncs() {
		wants = append(wants, btfName{btfFunc, name})
	}
	if err := k.index(wants); err != nil {
		return l, err
	}
	for name, dst := range l.kfuncs() {
		id, _ := k.find(btfFunc, name)
		*dst = int32(id)
	}
	l.iters = map[string]uint32{}
	for _, f := range iterFuncs {
		id, err := k.find(btfFunc, f)
		if err != nil {
			return l, err
		}
		l.iters[f] = id
	}
	if l.vmaNew == 0 || l.vmaNext == 0 || l.vmaDestroy == 0 {
		l.vmaNew = 0
	}
	if l.numNew == 0 || l.numNext == 0 || l.numDestroy == 0 {
		l.numNew = 0
	}
	for name, dst := range l.structs() {
		id, err := k.find(btfStruct, name)
		if err != nil {
			return l, err
		}
		*dst = int32(id)
	}
	for _, f := range l.fields() {
		off, err := k.offset(f.strct, f.field)
		if err != nil && optionalFields[f.strct+"."+f.field] {
			*f.dst = -1
			continue
		}
		if err != nil {
			return l, err
		}
		if off > 1<<15-16 {
			return l, fmt.Errorf("find %s.%s in kernel BTF: offset %d too large for a BPF load", f.strct, f.field, off)
		}
		*f.dst = off
	}
	return l, nil
}

// kernelDev encodes a device number as the kernel stores it (MKDEV).
func kernelDev(d Dev) int32 { return int32(d.Major<<20 | d.Minor&0xfffff) }

// probe emits bpf_probe_read_kernel(fp+dstOff, size, src+off).
func (p *bpfProg) probe(dstOff int16, size int32, src uint8, off int32) {
	p.movReg(r1, r10)
	p.addImm(r1, int32(dstOff))
	p.movImm(r2, size)
	p.movReg(r3, src)
	p.addImm(r3, off)
	p.call(helperProbeReadKernel)
}

// deref loads the pointer at src+off into dst, jumping to null when it
// is NULL. The verifier checks every such load against the kernel's BTF
// and turns it into a load that cannot fault.
func (p *bpfProg) deref(dst, src uint8, off int32, null string) {
	p.load(sizeDW, dst, src, int16(off))
	p.jumpEq(dst, 0, null)
}

// devIn jumps to match when the 32-bit value at src+off is one of devs;
// r1 holds the device there.
func (p *bpfProg) devIn(src uint8, off int32, devs []int32, match string) {
	p.load(sizeW, r1, src, int16(off))
	for _, d := range devs {
		p.jumpEq32(r1, d, match)
	}
}

// inodeOn jumps to match when the inode in reg lies on one of devs, or is
// a block device node of one of them, with the device in r1. reg and tmp
// are distinct registers (tmp may be r1); tmp is overwritten.
func (p *bpfProg) inodeOn(l kernelLayout, reg, tmp uint8, devs []int32, match, id string) {
	p.deref(tmp, reg, l.inodeSB, "nosb"+id)
	p.devIn(tmp, l.sbDev, devs, match)
	p.mark("nosb" + id)
	p.load(sizeH, r1, reg, int16(l.inodeMode))
	p.andImm(r1, 0xf000)
	p.jumpNe(r1, 0x6000, "notblk"+id) // S_IFBLK
	p.devIn(reg, l.inodeRdev, devs, match)
	p.mark("notblk" + id)
}

// untrust turns the trusted pointer the iterator passed in reg into an
// untrusted one of the same BTF type (the kfunc bpf_rdonly_cast, Linux
// 6.2+). Loads through either are safe, but the verifier checks every
// pointer load through a trusted one against a list of trusted fields
// with a linear search of the kernel's BTF, which makes loading the
// programs cost more than running them.
func (p *bpfProg) untrust(reg uint8, kfunc, btfID int32) {
	if kfunc == 0 {
		return // older kernels do not search either
	}
	p.movReg(r1, reg)
	p.movImm(r2, btfID)
	p.callKfunc(kfunc)
	p.movReg(reg, r0)
}

// callKfunc calls the kernel function with BTF id kfunc.
func (p *bpfProg) callKfunc(kfunc int32) {
	p.add(bpfInsn{op: 0x85, src: 2, imm: kfunc}) // BPF_PSEUDO_KFUNC_CALL
}

// copyField copies a scalar field of size bytes at src+off to the stack.
func (p *bpfProg) copyField(size uint8, dstOff int16, src uint8, off int32) {
	p.load(size, r1, src, int16(off))
	p.store(size, r10, r1, dstOff)
}

// seqSlot is the stack slot that keeps the iterator's seq_file.
const seqSlot = -192

// prologue keeps the context in r6 and its seq_file in seqSlot. Loading
// the seq_file here, once, saves the verifier from checking the load on
// every path that reaches emit (each check searches the kernel's BTF).
func (p *bpfProg) prologue() {
	p.movReg(r6, r1)
	p.load(sizeDW, r1, r6, 0) // ctx->meta
	p.load(sizeDW, r1, r1, 0) // meta->seq
	p.store(sizeDW, r10, r1, seqSlot)
}

// emit writes the len bytes that end at the frame pointer to the
// iterator's seq_file (see prologue).
func (p *bpfProg) emit(n int32) { p.emitAt(-n, n) }

// emitAt writes the n bytes at fp+off to the iterator's seq_file.
func (p *bpfProg) emitAt(off, n int32) {
	p.load(sizeDW, r1, r10, seqSlot)
	p.movReg(r2, r10)
	p.addImm(r2, off)
	p.movImm(r3, n)
	p.call(helperSeqWrite)
}

// zero clears the n bytes below the frame pointer (n a multiple of 8).
func (p *bpfProg) zero(n int16) { p.zeroAt(-n, n) }

// zeroAt clears the n bytes at fp+off (both multiples of 8).
func (p *bpfProg) zeroAt(off, n int16) {
	for o := off; o < off+n; o += 8 {
		p.storeImm(sizeDW, r10, o, 0)
	}
}

func (p *bpfProg) done() {
	p.mark("out")
	p.movImm(r0, 0)
	p.exit()
}

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

// commString returns a task's comm, without the NUL padding.
func commString(c [16]byte) string {
	if i := bytes.IndexByte(c[:], 0); i >= 0 {
		return string(c[:i])
	}
	return string(c[:])
}

// clockTicks converts start_boottime to the clock ticks of field 22 of
// /proc/PID/stat (USER_HZ is 100 on every Linux architecture we build).
func clockTicks(ns uint64) uint64 { return ns / 10_000_000 }
