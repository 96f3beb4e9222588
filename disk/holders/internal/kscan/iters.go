package kscan

// iterArgs starts a file or mapping program: the task in r7 and the
// object at ctx+off, of BTF type btfID, in r8 (both non-NULL and
// untrusted, or the program ends), and a zeroed record of size bytes.
func (l Layout) iterArgs(p *bpfProg, off int16, btfID int32, size int16) {
	p.prologue()
	p.load(sizeDW, r7, r6, 8) // ctx->task
	p.jumpEq(r7, 0, "out")
	p.load(sizeDW, r8, r6, off)
	p.jumpEq(r8, 0, "out")
	p.untrust(r8, l.rdonlyCast, btfID)
	p.untrust(r7, l.rdonlyCast, l.task)
	p.zero(size)
}

// fileProgram emits the program run for every open file of every process
// where the task program does not walk the descriptor tables itself:
//
//	int sc_file(struct bpf_iter__task_file *ctx) {
//		struct seq_file *seq = ctx->meta->seq;
//		struct task_struct *t = ctx->task;
//		struct file *f = ctx->file;
//		if (!t || !f) return 0;
//		struct file_record r = {0};
//		if (!f->f_inode || !on_devs(f->f_inode, &dev)) return 0;
//		r.dev = dev;
//		r.fd = ctx->fd;
//		r.tid = t->pid;
//		r.path = (struct path_key){f->f_path.mnt, f->f_path.dentry};
//		leader_info(t, &r);
//		bpf_seq_write(seq, &r, sizeof(r));
//		return 0;
//	}
func (l Layout) fileProgram(p *bpfProg, devs []int32) {
	const rec = -fileRecordSize
	l.iterArgs(p, 24, l.file, fileRecordSize) // ctx->file
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
	l.leaderInfo(p, rec, "")
	p.emit(fileRecordSize)
	p.done()
}

// mapProgram emits the program run for every mapping of every process
// where the kernel lacks the open-coded VMA iterator:
//
//	int sc_vma(struct bpf_iter__task_vma *ctx) {
//		struct seq_file *seq = ctx->meta->seq;
//		struct task_struct *t = ctx->task;
//		struct vm_area_struct *v = ctx->vma;
//		if (!t || !v) return 0;
//		struct map_record r = {0};
//		struct file *f = v->vm_file;
//		if (!f || !f->f_inode || !on_devs(f->f_inode, &dev)) return 0;
//		leader_info(t, &r);
//		bpf_seq_write(seq, &r, sizeof(r));
//		return 0;
//	}
func (l Layout) mapProgram(p *bpfProg, devs []int32) {
	l.iterArgs(p, 16, l.vma, mapRecordSize) // ctx->vma
	p.deref(r9, r8, l.vmaFile, "out")
	p.deref(r9, r9, l.fileInode, "out")
	p.inodeOn(l, r9, r1, devs, "hit", "m")
	p.jump("out")
	p.mark("hit")
	l.leaderInfo(p, -mapRecordSize, "")
	p.emit(mapRecordSize)
	p.done()
}
