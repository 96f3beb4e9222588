package kscan

// The pieces the program builders are made of.

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
// are distinct registers (tmp may be r1); tmp is overwritten. In the
// programs' pseudo-C, on_devs(inode, &dev):
//
//	(inode->i_sb && (dev = inode->i_sb->s_dev) in devs) ||
//	(S_ISBLK(inode->i_mode) && (dev = inode->i_rdev) in devs)
func (p *bpfProg) inodeOn(l Layout, reg, tmp uint8, devs []int32, match, id string) {
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
