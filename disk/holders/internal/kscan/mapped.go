package kscan

import "fmt"

// Walking every mapping of every process is most of what the task
// program costs (a thousand processes have some 40,000 mappings), and on
// a data volume it usually finds nothing: what a process maps is its
// program and libraries. The kernel links every file mapping into the
// i_mmap tree of the file's address space, so when no inode of the
// filesystems on the devices, and no device node among them, has a
// mapping, no process maps anything on them and the walk can be left out.
// The mapped-files probe answers that before the task programs are built.

// MappedObject is one object the probe checks through a descriptor of the
// scanner's own: a directory of a mounted filesystem (every inode of its
// superblock) or a block device (its page cache, which is what a mapping
// of the device node maps).
type MappedObject struct {
	FD       int
	BlockDev bool
}

// Answers of the probe.
const (
	MappedNone    = 0 // nothing on the devices is mapped
	MappedSome    = 1 // some inode or device is mapped, or may be
	MappedUnknown = 2 // the probe could not tell (a read failed, too many inodes)
)

// MappedInodeLimit bounds the walk of one superblock's inodes; past it
// the probe answers MappedUnknown and the mappings are walked. Checking an
// inode costs about what checking a mapping does, and a process has some
// 40 mappings walked on every CPU at once, while the probe runs alongside
// the loading of the task program: ten inodes a process keeps the probe
// cheaper than the walk it may save, within bounds.
func MappedInodeLimit(processes int) int32 {
	return int32(min(max(10*processes, 1024), 65536))
}

// Where the probe keeps things, from the frame pointer.
const (
	mpResultAt = -8
	mpArrayAt  = mpResultAt - 8 // fdtable.fd of the scanner
	mpFileAt   = mpArrayAt - 8  // the file of the current descriptor
	mpSbAt     = mpFileAt - 8   // its superblock
	mpHeadAt   = mpSbAt - 8     // the address of the superblock's s_inodes
	mpCurAt    = mpHeadAt - 8   // the current i_sb_list entry
	mpIterAt   = mpCurAt - 8
)

// CanProbeMapped reports whether the kernel has what the probe needs.
func (l Layout) CanProbeMapped() bool {
	return l.walksFDs() && l.sbInodes >= 0 && l.inodeSbList >= 0 && l.inodeMapping >= 0 &&
		l.fileMapping >= 0 && l.mappingMmap >= 0 && l.inode != 0
}

// mappedProgram emits the probe: a task program run for the scanner's own
// thread only, which writes one 8-byte answer (MappedNone, ...). It walks
// at most limit inodes of each filesystem.
//
//	int sc_mapped(struct bpf_iter__task *ctx) {
//		struct seq_file *seq = ctx->meta->seq;
//		struct task_struct *t = ctx->task;
//		if (!t) return 0;
//		u64 answer = MappedNone;
//		if (!t->files || !t->files->fdt) goto unknown;
//		struct file **fd = t->files->fdt->fd;
//		for (o in objs) {                         // unrolled
//			struct file *f;
//			bpf_probe_read_kernel(&f, 8, &fd[o.fd]);
//			if (!f) goto unknown;
//			f = bpf_rdonly_cast(f, struct file);
//			if (o.block_dev) {                // its page cache
//				if (!f->f_mapping) goto unknown;
//				if (f->f_mapping->i_mmap.rb_root.rb_node) goto some;
//			} else {
//				walk_inodes(f);           // see walkInodes
//			}
//		}
//		goto answer;
//	unknown:
//		answer = MappedUnknown;
//		goto answer;
//	some:
//		answer = MappedSome;
//	answer:
//		bpf_seq_write(seq, &answer, 8);
//		return 0;
//	}
func (l Layout) mappedProgram(p *bpfProg, objs []MappedObject, limit int32) {
	p.prologue()
	p.load(sizeDW, r7, r6, 8) // ctx->task
	p.jumpEq(r7, 0, "out")
	p.untrust(r7, l.rdonlyCast, l.task)
	p.storeImm(sizeDW, r10, mpResultAt, MappedNone)
	p.deref(r8, r7, l.taskFiles, "unknown")
	p.deref(r8, r8, l.filesFdt, "unknown")
	p.copyField(sizeDW, mpArrayAt, r8, l.fdtFd)
	for i, o := range objs {
		p.movImm(r2, int32(o.FD)*8)
		l.fdFile(p, mpFileAt, mpArrayAt, "unknown")
		if o.BlockDev {
			p.deref(r1, r9, l.fileMapping, "unknown")
			p.load(sizeDW, r1, r1, int16(l.mappingMmap))
			p.jumpNe(r1, 0, "some")
		} else {
			l.walkInodes(p, fmt.Sprint(i), limit)
		}
	}
	p.jump("answer")
	p.mark("unknown")
	p.storeImm(sizeDW, r10, mpResultAt, MappedUnknown)
	p.jump("answer")
	p.mark("some")
	p.storeImm(sizeDW, r10, mpResultAt, MappedSome)
	p.mark("answer")
	p.emitAt(mpResultAt, 8)
	p.done()
}

// walkInodes emits the walk of the s_inodes list of the superblock of the
// file in r9, jumping to "some" for an inode with a mapping or a device
// node (whose mappings belong to its device, not to the inode), and to
// "unknown" when a read fails or the list is longer than limit. The
// list is read without its lock, under the RCU read lock the iterator
// holds (inodes are freed after a grace period): an entry unlinked
// meanwhile has poisoned links, whose read fails.
//
//	// walk_inodes(f):
//	struct super_block *sb;
//	if (!f->f_inode) goto unknown;
//	if (bpf_probe_read_kernel(&sb, 8, &f->f_inode->i_sb) || !sb) goto unknown;
//	struct list_head *head = &sb->s_inodes, *cur;
//	if (bpf_probe_read_kernel(&cur, 8, &head->next)) goto unknown;
//	bpf_for(i, 0, limit) {
//		if (cur == head) goto end;                // all walked
//		if (!cur) goto unknown;
//		struct inode *in = bpf_rdonly_cast(container_of(cur, struct inode, i_sb_list), struct inode);
//		if (S_ISCHR(in->i_mode) || S_ISBLK(in->i_mode)) goto some;
//		if (in->i_mapping && in->i_mapping->i_mmap.rb_root.rb_node) goto some;
//		if (bpf_probe_read_kernel(&cur, 8, &cur->next)) goto unknown;
//	}
//	goto unknown;                                     // longer than limit
//	end:
func (l Layout) walkInodes(p *bpfProg, id string, limit int32) {
	end, fail, hit := "inodesend"+id, "inodesfail"+id, "inodeshit"+id
	p.deref(r1, r9, l.fileInode, "unknown")
	p.movReg(r3, r1)
	p.addImm(r3, l.inodeSB)
	p.probeTo(mpSbAt, 8, r3)
	p.jumpNe(r0, 0, "unknown")
	p.load(sizeDW, r3, r10, mpSbAt)
	p.jumpEq(r3, 0, "unknown")
	p.addImm(r3, l.sbInodes)
	p.store(sizeDW, r10, r3, mpHeadAt)
	p.probeTo(mpCurAt, 8, r3) // s_inodes.next
	p.jumpNe(r0, 0, "unknown")
	p.movImm(r3, limit)
	p.iterNew(l, mpIterAt, 0, r3)
	p.mark("inodes" + id)
	p.iterNext(mpIterAt, l.numNext, fail)
	p.load(sizeDW, r1, r10, mpCurAt)
	p.load(sizeDW, r2, r10, mpHeadAt)
	p.jumpEqReg(r1, r2, end)
	p.jumpEq(r1, 0, fail)
	p.addImm(r1, -l.inodeSbList)
	p.movImm(r2, l.inode)
	p.callKfunc(l.rdonlyCast)
	p.movReg(r9, r0)
	p.load(sizeH, r1, r9, int16(l.inodeMode))
	p.andImm(r1, 0xf000)
	p.jumpEq(r1, 0x2000, hit) // S_IFCHR
	p.jumpEq(r1, 0x6000, hit) // S_IFBLK
	p.load(sizeDW, r1, r9, int16(l.inodeMapping))
	p.jumpEq(r1, 0, "next"+id)
	p.load(sizeDW, r1, r1, int16(l.mappingMmap))
	p.jumpNe(r1, 0, hit)
	p.mark("next" + id)
	p.load(sizeDW, r3, r10, mpCurAt)
	p.probeTo(mpCurAt, 8, r3) // i_sb_list.next
	p.jumpNe(r0, 0, fail)
	p.jump("inodes" + id)
	p.mark(hit)
	p.callIter(mpIterAt, l.numDestroy)
	p.jump("some")
	p.mark(fail)
	p.callIter(mpIterAt, l.numDestroy)
	p.jump("unknown")
	p.mark(end)
	p.callIter(mpIterAt, l.numDestroy)
}
