package kscan

import (
	"encoding/binary"
	"fmt"
)

// A tiny eBPF assembler: just the instructions the scan's iterator
// programs use, with named jump targets resolved when the program is
// assembled. See Documentation/bpf/standardization/instruction-set.rst.
//
// github.com/cilium/ebpf/asm was tried in its place (issue 13): the same
// bytes, and the builders, written against the pieces in macros.go, read
// the same; but the binary grew by 190 KB, eleven more packages are
// initialised at every start, assembling took three times as long, and
// its StoreImm refuses the 8-byte store that zeroes a record.

// bpfInsn is one eBPF instruction; target names the label a jump goes to.
type bpfInsn struct {
	op     uint8
	dst    uint8
	src    uint8
	off    int16
	imm    int32
	target string
	label  string // a label that names this instruction
}

// Registers.
const (
	r0 = iota
	r1
	r2
	r3
	r4
	r5
	r6
	r7
	r8
	r9
	r10 // the read-only frame pointer
)

// Operand sizes of loads and stores.
const (
	sizeW  = 0x00 // 4 bytes
	sizeH  = 0x08 // 2 bytes
	sizeDW = 0x18 // 8 bytes
)

// Helper functions (enum bpf_func_id).
const (
	helperProbeReadKernel = 113
	helperSeqWrite        = 127
)

type bpfProg struct {
	insns []bpfInsn
	label string // given to the next instruction
}

func (p *bpfProg) add(i bpfInsn) {
	if p.insns == nil {
		p.insns = make([]bpfInsn, 0, 512) // the task program's size, about
	}
	i.label, p.label = p.label, ""
	p.insns = append(p.insns, i)
}

// mark names the next instruction.
func (p *bpfProg) mark(label string) {
	if p.label != "" {
		p.add(bpfInsn{op: 0x05}) // ja +0: two labels on one spot
	}
	p.label = label
}

func (p *bpfProg) movImm(dst uint8, imm int32) { p.add(bpfInsn{op: 0xb7, dst: dst, imm: imm}) }
func (p *bpfProg) movReg(dst, src uint8)       { p.add(bpfInsn{op: 0xbf, dst: dst, src: src}) }
func (p *bpfProg) addImm(dst uint8, imm int32) { p.add(bpfInsn{op: 0x07, dst: dst, imm: imm}) }
func (p *bpfProg) andImm(dst uint8, imm int32) { p.add(bpfInsn{op: 0x57, dst: dst, imm: imm}) }
func (p *bpfProg) orImm(dst uint8, imm int32)  { p.add(bpfInsn{op: 0x47, dst: dst, imm: imm}) }
func (p *bpfProg) modImm(dst uint8, imm int32) { p.add(bpfInsn{op: 0x97, dst: dst, imm: imm}) }
func (p *bpfProg) lshImm(dst uint8, imm int32) { p.add(bpfInsn{op: 0x67, dst: dst, imm: imm}) }
func (p *bpfProg) rshImm(dst uint8, imm int32) { p.add(bpfInsn{op: 0x77, dst: dst, imm: imm}) }
func (p *bpfProg) addReg(dst, src uint8)       { p.add(bpfInsn{op: 0x0f, dst: dst, src: src}) }
func (p *bpfProg) rshReg(dst, src uint8)       { p.add(bpfInsn{op: 0x7f, dst: dst, src: src}) }
func (p *bpfProg) call(helper int32)           { p.add(bpfInsn{op: 0x85, imm: helper}) }
func (p *bpfProg) exit()                       { p.add(bpfInsn{op: 0x95}) }
func (p *bpfProg) jump(target string)          { p.add(bpfInsn{op: 0x05, target: target}) }
func (p *bpfProg) load(size, dst, src uint8, off int16) {
	p.add(bpfInsn{op: 0x61 | size, dst: dst, src: src, off: off})
}
func (p *bpfProg) store(size, dst, src uint8, off int16) {
	p.add(bpfInsn{op: 0x63 | size, dst: dst, src: src, off: off})
}
func (p *bpfProg) storeImm(size, dst uint8, off int16, imm int32) {
	p.add(bpfInsn{op: 0x62 | size, dst: dst, off: off, imm: imm})
}

// jumpEq and jumpNe compare dst with an immediate (64-bit).
func (p *bpfProg) jumpEq(dst uint8, imm int32, target string) {
	p.add(bpfInsn{op: 0x15, dst: dst, imm: imm, target: target})
}
func (p *bpfProg) jumpNe(dst uint8, imm int32, target string) {
	p.add(bpfInsn{op: 0x55, dst: dst, imm: imm, target: target})
}

// jumpEq32 compares the low 32 bits of dst with an immediate.
func (p *bpfProg) jumpEq32(dst uint8, imm int32, target string) {
	p.add(bpfInsn{op: 0x16, dst: dst, imm: imm, target: target})
}

// jumpNeReg jumps when dst != src.
func (p *bpfProg) jumpNeReg(dst, src uint8, target string) {
	p.add(bpfInsn{op: 0x5d, dst: dst, src: src, target: target})
}

// jumpEqReg jumps when dst == src.
func (p *bpfProg) jumpEqReg(dst, src uint8, target string) {
	p.add(bpfInsn{op: 0x1d, dst: dst, src: src, target: target})
}

// assemble resolves the labels and encodes the program.
func (p *bpfProg) assemble() ([]byte, error) {
	if p.label != "" {
		return nil, fmt.Errorf("assemble BPF: label %q names no instruction", p.label)
	}
	at := map[string]int{}
	for i, in := range p.insns {
		if in.label != "" {
			if _, dup := at[in.label]; dup {
				return nil, fmt.Errorf("assemble BPF: label %q defined twice", in.label)
			}
			at[in.label] = i
		}
	}
	out := make([]byte, 0, 8*len(p.insns))
	for i, in := range p.insns {
		if in.target != "" {
			j, ok := at[in.target]
			if !ok {
				return nil, fmt.Errorf("assemble BPF: no label %q", in.target)
			}
			in.off = int16(j - i - 1)
		}
		out = append(out, in.op, in.dst&0xf|in.src<<4)
		out = binary.LittleEndian.AppendUint16(out, uint16(in.off))
		out = binary.LittleEndian.AppendUint32(out, uint32(in.imm))
	}
	return out, nil
}
