package holders

// taskRecord is what the task program writes for every thread-group
// leader and for every other thread that holds something. Devices are
// in the kernel's encoding (see kernelDev).
type taskRecord struct {
	TGID, TID uint32
	MountNS   uint64
	StartNS   uint64 // start_boottime, ns since boot
	UID       uint32
	Kinds     uint32
	Comm      [16]byte
	// Devs are the devices the cwd, root, exe and a mapping lie on, where
	// Kinds says.
	Devs [4]uint32
}

const taskRecordSize = 64

// Where the task record's fields are, from the frame pointer.
const (
	taskKindsAt = -taskRecordSize + 28
	taskDevsAt  = -taskRecordSize + 48
)

// Kinds a task record reports, as bit numbers.
const (
	taskCwd = iota
	taskRoot
	taskExe
	taskMap      // the leader maps a file on the devices
	taskMapsBusy // the leader's mappings were locked: read them from /proc
	taskKernel   // a kernel thread
)

// userDev decodes a device number in the kernel's encoding.
func userDev(d uint32) Dev { return Dev{d >> 20, d & 0xfffff} }

// setKind sets bit i in the kinds of the task record and, for a kind
// that has one, stores the device in r1 as its device.
func (p *bpfProg) setKind(i int) {
	if i < taskMapsBusy {
		p.store(sizeW, r10, r1, taskDevsAt+4*int16(i))
	}
	p.load(sizeW, r1, r10, taskKindsAt)
	p.orImm(r1, 1<<i)
	p.store(sizeW, r10, r1, taskKindsAt)
}

// taskProgram returns a builder of the program run for every task whose
// thread-group id is shard modulo shards. With the kernel's open-coded VMA
// iterator (Linux 6.7+), it also walks the mappings of each thread-group
// leader, which costs a fraction of the task_vma iterator.
func (l kernelLayout) taskProgram(shard, shards int32) func(devs []int32) ([]byte, error) {
	return func(devs []int32) ([]byte, error) { return l.buildTaskProgram(devs, shard, shards) }
}

func (l kernelLayout) buildTaskProgram(devs []int32, shard, shards int32) ([]byte, error) {
	var p bpfProg
	const rec = -taskRecordSize
	p.prologue()
	p.load(sizeDW, r7, r6, 8) // ctx->task
	p.jumpEq(r7, 0, "out")
	p.untrust(r7, l.rdonlyCast, l.task)
	p.zero(taskRecordSize)
	p.copyField(sizeW, rec, r7, l.taskTgid)
	if shards > 1 {
		p.modImm(r1, shards)
		p.jumpNe(r1, shard, "out")
	}
	p.copyField(sizeW, rec+4, r7, l.taskPid)
	// No mm: a kernel thread, which holds nothing; its record says which
	// mount namespace it lives in.
	p.load(sizeDW, r8, r7, int16(l.taskMM))
	p.jumpNe(r8, 0, "user")
	p.setKind(taskKernel)
	p.jump("common")
	p.mark("user")
	p.deref(r8, r8, l.mmExe, "exedone")
	p.deref(r8, r8, l.fileInode, "exedone")
	p.inodeOn(l, r8, r9, devs, "exe", "exe")
	p.jump("exedone")
	p.mark("exe")
	p.setKind(taskExe)
	p.mark("exedone")
	for _, d := range []struct {
		off  int32
		kind int
		name string
	}{{l.fsPwd, taskCwd, "cwd"}, {l.fsRoot, taskRoot, "root"}} {
		p.deref(r8, r7, l.taskFS, d.name+"done")
		p.deref(r8, r8, d.off, d.name+"done")
		p.deref(r8, r8, l.dentrySB, d.name+"done")
		p.devIn(r8, l.sbDev, devs, d.name)
		p.jump(d.name + "done")
		p.mark(d.name)
		p.setKind(d.kind)
		p.mark(d.name + "done")
	}
	if l.vmaNew != 0 {
		l.walkVMAs(&p, devs)
	}
	p.mark("common")
	p.copyField(sizeDW, rec+16, r7, l.taskStart)
	p.probe(rec+32, 16, r7, l.taskComm) // a char array: copied, not loaded
	p.deref(r8, r7, l.taskNSProxy, "nsdone")
	p.deref(r8, r8, l.nsproxyMnt, "nsdone")
	p.copyField(sizeW, rec+8, r8, l.mntnsInum)
	p.mark("nsdone")
	p.deref(r8, r7, l.taskCred, "creddone")
	p.copyField(sizeW, rec+24, r8, l.credUID)
	p.mark("creddone")
	p.load(sizeW, r1, r10, rec)
	p.load(sizeW, r2, r10, rec+4)
	p.jumpEqReg(r1, r2, "emit")
	p.load(sizeW, r1, r10, taskKindsAt)
	p.jumpEq(r1, 0, "out")
	p.mark("emit")
	p.emit(taskRecordSize)
	p.done()
	return p.assemble()
}

// walkVMAs emits the loop over the mappings of a thread-group leader
// (threads share its mappings): kind taskMap when one maps a file on
// devs, taskMapsBusy when its mappings were locked and could not be read.
func (l kernelLayout) walkVMAs(p *bpfProg, devs []int32) {
	const rec, iter = -taskRecordSize, -taskRecordSize - 8
	p.load(sizeW, r1, r10, rec)
	p.load(sizeW, r2, r10, rec+4)
	p.jumpNeReg(r1, r2, "vmadone")
	p.load(sizeDW, r2, r6, 8) // ctx->task, trusted, as the kfunc wants
	p.jumpEq(r2, 0, "vmadone")
	p.movReg(r1, r10)
	p.addImm(r1, iter)
	p.movImm(r3, 0)
	p.callKfunc(l.vmaNew)
	p.jumpEq(r0, 0, "vmastart")
	p.setKind(taskMapsBusy)
	p.mark("vmastart")
	// r7 holds the file of the last mapping checked: a file is mapped
	// several times in a row (text, data, ...), and each check of a new
	// one costs the cache misses of its inode and superblock.
	p.movImm(r7, 0)
	p.mark("vmanext")
	p.movReg(r1, r10)
	p.addImm(r1, iter)
	p.callKfunc(l.vmaNext)
	p.jumpEq(r0, 0, "vmaend")
	p.movReg(r8, r0)
	p.untrust(r8, l.rdonlyCast, l.vma)
	p.deref(r9, r8, l.vmaFile, "vmanext")
	p.jumpEqReg(r9, r7, "vmanext")
	p.movReg(r7, r9)
	p.deref(r9, r9, l.fileInode, "vmanext")
	p.inodeOn(l, r9, r1, devs, "vmahit", "vma")
	p.jump("vmanext")
	p.mark("vmahit")
	p.setKind(taskMap)
	p.mark("vmaend")
	p.movReg(r1, r10)
	p.addImm(r1, iter)
	p.callKfunc(l.vmaDestroy)
	p.load(sizeDW, r7, r6, 8) // the task again: r7 held files
	p.jumpEq(r7, 0, "out")
	p.untrust(r7, l.rdonlyCast, l.task)
	p.mark("vmadone")
}

// fileRecord is what the file program writes for an open file on the
// devices.
type fileRecord struct{ TGID, FD, Dev, _ uint32 }

const fileRecordSize = 16

// iterArgs starts a file or mapping program: the task in r7 and the
// object at ctx+off, of BTF type btfID, in r8 (both non-NULL, or the
// program ends), and a zeroed record of size bytes.
func (l kernelLayout) iterArgs(p *bpfProg, off int16, btfID int32, size int16) {
	p.prologue()
	p.load(sizeDW, r7, r6, 8) // ctx->task
	p.jumpEq(r7, 0, "out")
	p.load(sizeDW, r8, r6, off)
	p.jumpEq(r8, 0, "out")
	p.untrust(r8, l.rdonlyCast, btfID)
	p.zero(size)
}

// fileProgram is run for every open file of every process.
func (l kernelLayout) fileProgram(devs []int32) ([]byte, error) {
	var p bpfProg
	l.iterArgs(&p, 24, l.file, fileRecordSize) // ctx->file
	p.load(sizeW, r1, r6, 16)                  // ctx->fd
	p.store(sizeW, r10, r1, -12)
	p.deref(r8, r8, l.fileInode, "out")
	p.inodeOn(l, r8, r9, devs, "hit", "f")
	p.jump("out")
	p.mark("hit")
	p.store(sizeW, r10, r1, -8)
	p.copyField(sizeW, -16, r7, l.taskTgid)
	p.emit(fileRecordSize)
	p.done()
	return p.assemble()
}

// mapRecord is what the mapping program writes for a mapping of a file
// on the devices: which process maps it (the paths come from its maps).
type mapRecord struct{ TGID, _ uint32 }

const mapRecordSize = 8

// mapProgram is run for every mapping of every process where the kernel
// lacks the open-coded VMA iterator.
func (l kernelLayout) mapProgram(devs []int32) ([]byte, error) {
	var p bpfProg
	l.iterArgs(&p, 16, l.vma, mapRecordSize) // ctx->vma
	p.deref(r9, r8, l.vmaFile, "out")
	p.deref(r9, r9, l.fileInode, "out")
	p.inodeOn(l, r9, r1, devs, "hit", "m")
	p.jump("out")
	p.mark("hit")
	p.copyField(sizeW, -mapRecordSize, r7, l.taskTgid)
	p.emit(mapRecordSize)
	p.done()
	return p.assemble()
}
