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

// taskProgram emits the program run for every task whose thread-group id
// is shard modulo shards. With the kernel's open-coded VMA iterator (Linux
// 6.7+), it also walks the mappings of each thread-group leader (unless
// walkMaps is false: the mapped-files probe found nothing mapped on the
// devices), which costs a fraction of the task_vma iterator. It writes a
// record for each thread that holds something, and for each leader in a
// mount namespace other than selfNS (the processes of a namespace that
// keeps a mount alive). The program, where on_devs(inode) stands for
// inodeOn and every task pointer is read-only (untrust):
//
//	int sc_task(struct bpf_iter__task *ctx) {
//		struct seq_file *seq = ctx->meta->seq;
//		struct task_struct *t = ctx->task;
//		if (!t) return 0;
//		struct task_record r = {0};
//		r.tgid = t->tgid;
//		if (shards > 1 && r.tgid % shards != shard) return 0;
//		r.tid = t->pid;
//		if (!t->mm) {
//			r.kinds |= 1 << KindKernel;       // holds nothing
//			goto common;
//		}
//		walk_fds(t, &r);            // where walksFDs; see walkFDs
//		walk_vmas(ctx->task, &r);   // where walkMaps (6.7+); see walkVMAs
//		struct file *exe = t->mm->exe_file;
//		if (exe && exe->f_inode && on_devs(exe->f_inode, &dev))
//			r.devs[KindExe] = dev, r.kinds |= 1 << KindExe;
//		if (t->fs && t->fs->pwd.dentry && t->fs->pwd.dentry->d_sb &&
//		    t->fs->pwd.dentry->d_sb->s_dev in devs) {
//			r.devs[KindCwd] = dev, r.kinds |= 1 << KindCwd;
//			r.path = (struct path_key){t->fs->pwd.mnt, t->fs->pwd.dentry};
//		}
//		if (t->fs && t->fs->root.dentry && t->fs->root.dentry->d_sb &&
//		    t->fs->root.dentry->d_sb->s_dev in devs)
//			r.devs[KindRoot] = dev, r.kinds |= 1 << KindRoot;
//	common:
//		if (!(r.kinds & ~(1 << KindKernel))) {    // holds nothing:
//			if (r.tgid != r.tid) return 0;    // only a leader
//			if (!t->nsproxy || !t->nsproxy->mnt_ns) return 0;
//			if ((u32)t->nsproxy->mnt_ns->ns.inum == selfNS) return 0;
//		}
//		leader_info(t, &r);                       // see leaderInfo
//		bpf_seq_write(seq, &r, sizeof(r));
//		return 0;
//	}
func (l Layout) taskProgram(p *bpfProg, devs []int32, shard, shards int32, selfNS uint32, walkMaps bool) {
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
		l.walkFDs(p, devs)
	}
	if l.vmaNew != 0 && walkMaps {
		l.walkVMAs(p, devs)
	}
	p.load(sizeDW, r8, r7, int16(l.taskMM))
	p.deref(r8, r8, l.mmExe, "exedone")
	l.fileKind(p, r8, r9, devs, KindExe, "exe", "exedone")
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
	l.leaderInfo(p, rec, "")
	p.emit(taskRecordSize)
	p.done()
}

// fileKind sets kind in the task record (see setKind) when the file in
// reg (not NULL) lies on devs, and jumps to skip when it does not; reg
// and tmp are as for inodeOn, and reg is overwritten. id makes its labels
// unique in the program.
func (l Layout) fileKind(p *bpfProg, reg, tmp uint8, devs []int32, kind int, id, skip string) {
	p.deref(reg, reg, l.fileInode, skip)
	p.inodeOn(l, reg, tmp, devs, id+"hit", id)
	p.jump(skip)
	p.mark(id + "hit")
	p.setKind(kind)
}

// leaderInfo fills the ProcInfo at rec from the leader of the task in r7
// (an untrusted pointer); it overwrites r8 and r9. id makes its labels
// unique in the program.
//
//	void leader_info(struct task_struct *t, struct proc_info *rec) {
//		struct task_struct *g = t->group_leader;
//		if (!g) return;
//		rec->tgid = g->tgid;
//		rec->start_ns = g->start_boottime;
//		rec->css = g->cgroups;                    // where the kernel has cgroups
//		bpf_probe_read_kernel(rec->comm, 16, g->comm);
//		if (g->real_cred) rec->uid = g->real_cred->uid.val;
//		if (g->mm) rec->arg_start = g->mm->arg_start, rec->arg_end = g->mm->arg_end;
//		if (g->nsproxy && g->nsproxy->mnt_ns)
//			rec->mount_ns = g->nsproxy->mnt_ns->ns.inum;
//	}
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
// The task in r7 is read again at the end: the loop uses r7.
//
//	if (r.tgid == r.tid && ctx->task) {
//		struct bpf_iter_task_vma it;
//		if (bpf_iter_task_vma_new(&it, ctx->task, 0))  // mmap_lock taken
//			r.kinds |= 1 << KindMapsBusy;          // (next gives NULL)
//		struct file *last = NULL;
//		struct vm_area_struct *v;
//		while ((v = bpf_iter_task_vma_next(&it))) {
//			struct file *f = v->vm_file;
//			if (!f || f == last) continue;         // text, data, ... of one file
//			last = f;
//			if (f->f_inode && on_devs(f->f_inode, &dev)) {
//				r.devs[KindMap] = dev, r.kinds |= 1 << KindMap;
//				break;
//			}
//		}
//		bpf_iter_task_vma_destroy(&it);
//		t = ctx->task;
//		if (!t) return 0;
//	}
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
	l.fileKind(p, r9, r1, devs, KindMap, "vma", "vmanext")
	p.mark("vmaend")
	p.callIter(iter, l.vmaDestroy)
	p.load(sizeDW, r7, r6, 8) // the task again: r7 held files
	p.jumpEq(r7, 0, "out")
	p.untrust(r7, l.rdonlyCast, l.task)
	p.mark("vmadone")
}
