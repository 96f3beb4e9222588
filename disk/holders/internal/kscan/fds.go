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
//
//	if (r.tgid == r.tid || (t->group_leader && t->files != t->group_leader->files)) {
//		if (!t->files || !t->files->fdt) goto done;
//		struct file **fd = t->files->fdt->fd;
//		unsigned long *open = t->files->fdt->open_fds;
//		bpf_for(w, 0, t->files->fdt->max_fds / 64) {
//			u64 word;
//			bpf_probe_read_kernel(&word, 8, &open[w]);
//			if (!word) continue;
//			bpf_for(b, 0, 64) {
//				if (!(word >> b)) break;
//				if (!(word >> b & 1)) continue;
//				struct file *f;
//				bpf_probe_read_kernel(&f, 8, &fd[w*64 + b]);
//				if (!f) continue;
//				f = bpf_rdonly_cast(f, struct file);
//				if (!f->f_inode || !on_devs(f->f_inode, &dev)) continue;
//				struct task_record fr = {.kinds = 1 << KindFD,
//					.fd = w*64 + b, .fd_dev = dev, .tid = t->pid,
//					.path = {f->f_path.mnt, f->f_path.dentry}};
//				leader_info(t, &fr);
//				bpf_seq_write(seq, &fr, sizeof(fr));
//			}
//		}
//	}
//	done:
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
