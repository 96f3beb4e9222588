package kscan

// Where the task program keeps things, from the frame pointer: the task
// record, the iterators' state, the descriptor walk's slots (see walkFDs)
// and a second record for the open files it finds.
const (
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

// setKind sets bit i in the kinds of the task record and, for a kind
// that has one, stores the device in r1 as its device.
func (p *bpfProg) setKind(i int) {
	if i < KindMapsBusy {
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
func (l Layout) taskProgram(shard, shards int32, selfNS uint32, walkMaps bool) func(devs []int32) ([]byte, error) {
	return func(devs []int32) ([]byte, error) { return l.buildTaskProgram(devs, shard, shards, selfNS, walkMaps) }
}

func (l Layout) buildTaskProgram(devs []int32, shard, shards int32, selfNS uint32, walkMaps bool) ([]byte, error) {
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
	p.setKind(KindKernel)
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
	p.setKind(KindExe)
	p.mark("exedone")
	for _, d := range []struct {
		off  int32
		kind int
		name string
	}{{l.fsPwd, KindCwd, "cwd"}, {l.fsRoot, KindRoot, "root"}} {
		p.deref(r8, r7, l.taskFS, d.name+"done")
		p.deref(r8, r8, d.off, d.name+"done")
		p.deref(r8, r8, l.dentrySB, d.name+"done")
		p.devIn(r8, l.sbDev, devs, d.name)
		p.jump(d.name + "done")
		p.mark(d.name)
		p.setKind(d.kind)
		if d.kind == KindCwd {
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
	p.andImm(r1, ^int32(1<<KindKernel))
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

// leaderInfo fills the ProcInfo at rec from the leader of the task in r7
// (an untrusted pointer); it overwrites r8 and r9. id makes its labels
// unique in the program.
func (l Layout) leaderInfo(p *bpfProg, rec int16, id string) {
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
// (threads share its mappings): kind KindMap when one maps a file on
// devs, KindMapsBusy when its mappings were locked and could not be read.
func (l Layout) walkVMAs(p *bpfProg, devs []int32) {
	const rec, iter = taskRec, vmaIterAt
	p.load(sizeW, r1, r10, rec)
	p.load(sizeW, r2, r10, taskTIDAt)
	p.jumpNeReg(r1, r2, "vmadone")
	p.load(sizeDW, r2, r6, 8) // ctx->task, trusted, as the kfunc wants
	p.jumpEq(r2, 0, "vmadone")
	p.movImm(r3, 0)
	p.callIter(iter, l.vmaNew)
	p.jumpEq(r0, 0, "vmastart")
	p.setKind(KindMapsBusy)
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
	p.setKind(KindMap)
	p.mark("vmaend")
	p.callIter(iter, l.vmaDestroy)
	p.load(sizeDW, r7, r6, 8) // the task again: r7 held files
	p.jumpEq(r7, 0, "out")
	p.untrust(r7, l.rdonlyCast, l.task)
	p.mark("vmadone")
}
