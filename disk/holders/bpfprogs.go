package holders

// procInfo opens every record the programs write: the process the record
// belongs to, read from its thread-group leader, so that any record of a
// process names it (user, start time, command) without /proc.
type procInfo struct {
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

// pathKey names a path by its mount and dentry (kernel addresses): two
// holds with the same key have the same path, read once.
type pathKey struct{ Mnt, Dentry uint64 }

// taskRecord is what the task program writes for a thread that holds
// something, for a thread-group leader that lives in another mount
// namespace than the scanner's and, where it walks the descriptor tables,
// for each open file on the devices (kind taskFD). Devices are in the
// kernel's encoding (see kernelDev).
type taskRecord struct {
	procInfo
	TID   uint32
	Kinds uint32
	// Devs are the devices the cwd, root, exe and a mapping lie on, where
	// Kinds says.
	Devs      [4]uint32
	FD, FDDev uint32  // for kind taskFD: the descriptor and its device
	Path      pathKey // the cwd's (kind taskCwd) or the open file's (taskFD)
}

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

	// Where the task program keeps things, from the frame pointer: the
	// task record, the iterators' state, the descriptor walk's slots (see
	// walkFDs) and a second record for the open files it finds.
	taskRec     = -taskRecordSize
	taskTIDAt   = taskRec + taskTIDOff
	taskKindsAt = taskRec + taskKindsOff
	taskDevsAt  = taskRec + taskDevsOff
	taskPathAt  = taskRec + taskPathOff
	vmaIterAt   = taskRec - 8
	wordIterAt  = vmaIterAt - 8  // over the words of open_fds
	bitIterAt   = wordIterAt - 8 // over the bits of one
	fdWordAt    = bitIterAt - 8  // the word of open_fds
	fdArrayAt   = fdWordAt - 8   // fdtable.fd
	fdOpenAt    = fdArrayAt - 8  // fdtable.open_fds
	fdFileAt    = fdOpenAt - 8   // the current descriptor's file
	fdIndexAt   = fdFileAt - 8   // the current descriptor
	fdBaseAt    = fdIndexAt - 8  // the first descriptor of the current word
	fdRec       = seqSlot - taskRecordSize
)

// The descriptor walk's slots lie between the task record and seqSlot.
var _ = [1]int{}[fdBaseAt-8-seqSlot]

// Kinds a task record reports, as bit numbers.
const (
	taskCwd = iota
	taskRoot
	taskExe
	taskMap      // the leader maps a file on the devices
	taskMapsBusy // the leader's mappings were locked: read them from /proc
	taskKernel   // a kernel thread
	taskFD       // not a task but one of its open files (see taskRecord)
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
// leader (unless walkMaps is false: the mapped-files probe found nothing
// mapped on the devices), which costs a fraction of the task_vma iterator. It writes a
// record for each thread that holds something, and for each leader in a
// mount namespace other than selfNS (the processes of a namespace that
// keeps a mount alive).
func (l kernelLayout) taskProgram(shard, shards int32, selfNS uint32, walkMaps bool) func(devs []int32) ([]byte, error) {
	return func(devs []int32) ([]byte, error) { return l.buildTaskProgram(devs, shard, shards, selfNS, walkMaps) }
}

func (l kernelLayout) buildTaskProgram(devs []int32, shard, shards int32, selfNS uint32, walkMaps bool) ([]byte, error) {
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
	p.copyField(sizeW, taskTIDAt, r7, l.taskPid)
	// No mm: a kernel thread, which holds nothing.
	p.load(sizeDW, r8, r7, int16(l.taskMM))
	p.jumpNe(r8, 0, "user")
	p.setKind(taskKernel)
	p.jump("common")
	p.mark("user")
	// The loops come first, while every path through the program is still
	// one: the verifier checks a loop once per distinct state that reaches
	// it, and each hold found below makes another.
	if l.walksFDs() {
		l.walkFDs(&p, devs)
	}
	if l.vmaNew != 0 && walkMaps {
		l.walkVMAs(&p, devs)
	}
	p.load(sizeDW, r8, r7, int16(l.taskMM))
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
		if d.kind == taskCwd {
			p.load(sizeDW, r8, r7, int16(l.taskFS))
			p.copyField(sizeDW, taskPathAt, r8, l.fsPwdMnt)
			p.copyField(sizeDW, taskPathAt+8, r8, l.fsPwd)
		}
		p.mark(d.name + "done")
	}
	p.mark("common")
	// Write the record when the thread holds something, or when it is a
	// leader in another mount namespace.
	p.load(sizeW, r1, r10, taskKindsAt)
	p.andImm(r1, ^int32(1<<taskKernel))
	p.jumpNe(r1, 0, "emit")
	p.load(sizeW, r1, r10, rec)
	p.load(sizeW, r2, r10, taskTIDAt)
	p.jumpNeReg(r1, r2, "out")
	p.deref(r8, r7, l.taskNSProxy, "out")
	p.deref(r8, r8, l.nsproxyMnt, "out")
	p.load(sizeW, r1, r8, int16(l.mntnsInum))
	p.jumpEq32(r1, int32(selfNS), "out")
	p.mark("emit")
	l.leaderInfo(&p, rec, "")
	p.emit(taskRecordSize)
	p.done()
	return p.assemble()
}

// leaderInfo fills the procInfo at rec from the leader of the task in r7
// (an untrusted pointer); it overwrites r8 and r9. id makes its labels
// unique in the program.
func (l kernelLayout) leaderInfo(p *bpfProg, rec int16, id string) {
	p.deref(r8, r7, l.taskGroupLeader, "infodone"+id)
	p.copyField(sizeW, rec, r8, l.taskTgid)
	p.copyField(sizeDW, rec+16, r8, l.taskStart)
	if l.taskCgroups >= 0 {
		p.copyField(sizeDW, rec+24, r8, l.taskCgroups)
	}
	p.probe(rec+32, 16, r8, l.taskComm) // a char array: copied, not loaded
	p.deref(r9, r8, l.taskCred, "creddone"+id)
	p.copyField(sizeW, rec+4, r9, l.credUID)
	p.mark("creddone" + id)
	p.deref(r9, r8, l.taskMM, "argdone"+id)
	p.copyField(sizeDW, rec+48, r9, l.mmArgStart)
	p.copyField(sizeDW, rec+56, r9, l.mmArgEnd)
	p.mark("argdone" + id)
	p.deref(r9, r8, l.taskNSProxy, "infodone"+id)
	p.deref(r9, r9, l.nsproxyMnt, "infodone"+id)
	p.copyField(sizeW, rec+8, r9, l.mntnsInum)
	p.mark("infodone" + id)
}

// walkVMAs emits the loop over the mappings of a thread-group leader
// (threads share its mappings): kind taskMap when one maps a file on
// devs, taskMapsBusy when its mappings were locked and could not be read.
func (l kernelLayout) walkVMAs(p *bpfProg, devs []int32) {
	const rec, iter = taskRec, vmaIterAt
	p.load(sizeW, r1, r10, rec)
	p.load(sizeW, r2, r10, taskTIDAt)
	p.jumpNeReg(r1, r2, "vmadone")
	p.load(sizeDW, r2, r6, 8) // ctx->task, trusted, as the kfunc wants
	p.jumpEq(r2, 0, "vmadone")
	p.movImm(r3, 0)
	p.callIter(iter, l.vmaNew)
	p.jumpEq(r0, 0, "vmastart")
	p.setKind(taskMapsBusy)
	p.mark("vmastart")
	// r7 holds the file of the last mapping checked: a file is mapped
	// several times in a row (text, data, ...), and each check of a new
	// one costs the cache misses of its inode and superblock.
	p.movImm(r7, 0)
	p.mark("vmanext")
	p.iterNext(iter, l.vmaNext, "vmaend")
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
	p.callIter(iter, l.vmaDestroy)
	p.load(sizeDW, r7, r6, 8) // the task again: r7 held files
	p.jumpEq(r7, 0, "out")
	p.untrust(r7, l.rdonlyCast, l.task)
	p.mark("vmadone")
}

// fileRecord is what the file program writes for an open file on the
// devices.
type fileRecord struct {
	procInfo
	TID     uint32 // the task whose descriptor table holds it
	FD, Dev uint32
	_       uint32
	Path    pathKey
}

// iterArgs starts a file or mapping program: the task in r7 and the
// object at ctx+off, of BTF type btfID, in r8 (both non-NULL and
// untrusted, or the program ends), and a zeroed record of size bytes.
func (l kernelLayout) iterArgs(p *bpfProg, off int16, btfID int32, size int16) {
	p.prologue()
	p.load(sizeDW, r7, r6, 8) // ctx->task
	p.jumpEq(r7, 0, "out")
	p.load(sizeDW, r8, r6, off)
	p.jumpEq(r8, 0, "out")
	p.untrust(r8, l.rdonlyCast, btfID)
	p.untrust(r7, l.rdonlyCast, l.task)
	p.zero(size)
}

// fileProgram is run for every open file of every process.
func (l kernelLayout) fileProgram(devs []int32) ([]byte, error) {
	var p bpfProg
	const rec = -fileRecordSize
	l.iterArgs(&p, 24, l.file, fileRecordSize) // ctx->file
	p.deref(r9, r8, l.fileInode, "out")
	p.inodeOn(l, r9, r1, devs, "hit", "f")
	p.jump("out")
	p.mark("hit")
	p.store(sizeW, r10, r1, rec+procInfoSize+8)
	p.load(sizeW, r1, r6, 16) // ctx->fd
	p.store(sizeW, r10, r1, rec+procInfoSize+4)
	p.copyField(sizeW, rec+procInfoSize, r7, l.taskPid)
	p.copyField(sizeDW, rec+procInfoSize+16, r8, l.fileMnt)
	p.copyField(sizeDW, rec+procInfoSize+24, r8, l.fileDentry)
	l.leaderInfo(&p, rec, "")
	p.emit(fileRecordSize)
	p.done()
	return p.assemble()
}

// mapRecord is what the mapping program writes for a mapping of a file
// on the devices: which process maps it (the paths come from its maps).
type mapRecord struct{ procInfo }

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
	l.leaderInfo(&p, -mapRecordSize, "")
	p.emit(mapRecordSize)
	p.done()
	return p.assemble()
}
