package kscan

// walksFDs reports whether the task program walks the descriptor tables
// itself: with the open-coded number iterator (Linux 6.4+), read-only
// casts and the VMA iterator, it does in one pass what the task_file
// iterator does in a second walk of every task, which costs a program
// load, a reference count per open file and a third iterator competing
// for the CPUs.
func (l Layout) walksFDs() bool {
	return l.numNew != 0 && l.rdonlyCast != 0 && l.vmaNew != 0
}

// walkFDs emits the loop over the descriptor table of the task in r7
// (untrusted; kept) when it is its process's leader or has a table of its
// own: for each word of the open_fds bitmap that is not zero, for each of
// its set bits up to the last, it checks the file and writes a KindFD
// record at fdRec for one on devs. The table is read under the RCU read
// lock the iterator holds, as the kernel's own task_file iterator reads
// it; a descriptor closed meanwhile is dropped later, when its path is
// read from /proc.
func (l Layout) walkFDs(p *bpfProg, devs []int32) {
	p.load(sizeW, r1, r10, taskRec)
	p.load(sizeW, r2, r10, taskTIDAt)
	p.jumpEqReg(r1, r2, "fdwalk")
	p.deref(r8, r7, l.taskGroupLeader, "fddone")
	p.load(sizeDW, r8, r8, int16(l.taskFiles))
	p.load(sizeDW, r9, r7, int16(l.taskFiles))
	p.jumpEqReg(r8, r9, "fddone") // a thread that shares its leader's table
	p.mark("fdwalk")
	p.deref(r8, r7, l.taskFiles, "fddone")
	p.deref(r8, r8, l.filesFdt, "fddone")
	p.copyField(sizeDW, fdArrayAt, r8, l.fdtFd)
	p.copyField(sizeDW, fdOpenAt, r8, l.fdtOpenFds)
	// for w in [0, max_fds/64): max_fds is a multiple of the word size.
	p.load(sizeW, r3, r8, int16(l.fdtMaxFds))
	p.rshImm(r3, 6)
	p.iterNew(l, wordIterAt, 0, r3)
	p.mark("fdword")
	p.iterNext(wordIterAt, l.numNext, "fdwordend")
	p.load(sizeW, r2, r0, 0)
	p.lshImm(r2, 6) // the first descriptor of the word
	p.store(sizeDW, r10, r2, fdBaseAt)
	p.rshImm(r2, 3) // its word's offset in open_fds
	p.probeElem(fdWordAt, fdOpenAt)
	p.load(sizeDW, r1, r10, fdWordAt)
	p.jumpEq(r1, 0, "fdword")
	// for b in [0, 64) while word>>b != 0
	p.movImm(r3, 64)
	p.iterNew(l, bitIterAt, 0, r3)
	p.mark("fdbit")
	p.iterNext(bitIterAt, l.numNext, "fdbitend")
	p.load(sizeW, r2, r0, 0)
	p.load(sizeDW, r1, r10, fdWordAt)
	p.rshReg(r1, r2)
	p.jumpEq(r1, 0, "fdbitend")
	p.andImm(r1, 1)
	p.jumpEq(r1, 0, "fdbit")
	p.load(sizeDW, r1, r10, fdBaseAt)
	p.addReg(r2, r1)
	p.store(sizeDW, r10, r2, fdIndexAt)
	p.lshImm(r2, 3)
	l.fdFile(p, fdFileAt, fdArrayAt, "fdbit")
	p.deref(r2, r9, l.fileInode, "fdbit")
	p.inodeOn(l, r2, r1, devs, "fdhit", "fd")
	p.jump("fdbit")
	p.mark("fdhit")
	p.zeroAt(fdRec, taskRecordSize)
	p.store(sizeW, r10, r1, fdRec+taskFDOff+4)
	p.load(sizeW, r1, r10, fdIndexAt)
	p.store(sizeW, r10, r1, fdRec+taskFDOff)
	p.storeImm(sizeW, r10, fdRec+taskKindsOff, 1<<KindFD)
	p.copyField(sizeW, fdRec+taskTIDOff, r7, l.taskPid)
	p.copyField(sizeDW, fdRec+taskPathOff, r9, l.fileMnt)
	p.copyField(sizeDW, fdRec+taskPathOff+8, r9, l.fileDentry)
	l.leaderInfo(p, fdRec, "fd")
	p.emitAt(fdRec, taskRecordSize)
	p.jump("fdbit")
	p.mark("fdbitend")
	p.callIter(bitIterAt, l.numDestroy)
	p.jump("fdword")
	p.mark("fdwordend")
	p.callIter(wordIterAt, l.numDestroy)
	p.mark("fddone")
}

// iterNew starts the number iterator at fp+at over [start, end in reg).
func (p *bpfProg) iterNew(l Layout, at int16, start int32, end uint8) {
	if end != r3 {
		p.movReg(r3, end)
	}
	p.movImm(r2, start)
	p.callIter(at, l.numNew)
}

// iterNext steps the iterator at fp+at with kfunc, jumping to end when it
// is done; otherwise r0 points to the item.
func (p *bpfProg) iterNext(at int16, kfunc int32, end string) {
	p.callIter(at, kfunc)
	p.jumpEq(r0, 0, end)
}

// callIter calls kfunc with the iterator at fp+at as its first argument
// (the others already in r2 and r3).
func (p *bpfProg) callIter(at int16, kfunc int32) {
	p.movReg(r1, r10)
	p.addImm(r1, int32(at))
	p.callKfunc(kfunc)
}

// fdFile reads the file of a descriptor table's entry at byte offset r2
// of the fd array whose address is kept at fp+arrayAt into fp+at, and
// leaves it in r9 as a (read-only) struct file; it jumps to null for an
// empty entry.
func (l Layout) fdFile(p *bpfProg, at, arrayAt int16, null string) {
	p.probeElem(at, arrayAt)
	p.load(sizeDW, r1, r10, at)
	p.jumpEq(r1, 0, null)
	p.movImm(r2, l.file)
	p.callKfunc(l.rdonlyCast)
	p.movReg(r9, r0)
}

// probeElem reads the 8 bytes at offset r2 of the array whose address is
// kept at fp+arrayAt into fp+at.
func (p *bpfProg) probeElem(at, arrayAt int16) {
	p.load(sizeDW, r3, r10, arrayAt)
	p.addReg(r3, r2)
	p.probeTo(at, 8, r3)
}

// probeTo emits bpf_probe_read_kernel(fp+at, size, src).
func (p *bpfProg) probeTo(at int16, size int32, src uint8) {
	if src != r3 {
		p.movReg(r3, src)
	}
	p.movReg(r1, r10)
	p.addImm(r1, int32(at))
	p.movImm(r2, size)
	p.call(helperProbeReadKernel)
}
