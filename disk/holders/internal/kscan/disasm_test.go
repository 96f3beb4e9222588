package kscan

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// disasm lists code, an assembled program, one instruction a line in the
// syntax of the kernel's verifier log, decoded from the bytes by the
// instruction set (not from the assembler's own records, so the listing
// shows what the kernel gets). labels names instructions by index; jumps
// name their target by its label. comment annotates an instruction.
func disasm(code []byte, labels map[int]string, comment func(op, dst, src uint8, off int16, imm int32) string) string {
	var b strings.Builder
	for i := 0; i+8 <= len(code); i += 8 {
		n := i / 8
		if l := labels[n]; l != "" {
			fmt.Fprintf(&b, "%s:\n", l)
		}
		op, dst, src := code[i], code[i+1]&0xf, code[i+1]>>4
		off := int16(binary.LittleEndian.Uint16(code[i+2:]))
		imm := int32(binary.LittleEndian.Uint32(code[i+4:]))
		target := labels[n+1+int(off)]
		if target == "" {
			target = fmt.Sprintf("%+d", off)
		}
		line := insnText(op, dst, src, off, imm, target)
		if c := comment(op, dst, src, off, imm); c != "" {
			line = fmt.Sprintf("%-44s ; %s", line, c)
		}
		fmt.Fprintf(&b, "%4d: %s\n", n, line)
	}
	return b.String()
}

// Names of the parts of an opcode (Documentation/bpf/standardization/
// instruction-set.rst): ALU64 and JMP/JMP32 operations, memory sizes.
var (
	aluOps  = map[uint8]string{0x00: "+=", 0x10: "-=", 0x20: "*=", 0x30: "/=", 0x40: "|=", 0x50: "&=", 0x60: "<<=", 0x70: ">>=", 0x90: "%=", 0xa0: "^=", 0xb0: "=", 0xc0: "s>>="}
	jmpOps  = map[uint8]string{0x10: "==", 0x20: ">", 0x30: ">=", 0x40: "&", 0x50: "!=", 0x60: "s>", 0x70: "s>=", 0xa0: "<", 0xb0: "<=", 0xc0: "s<", 0xd0: "s<="}
	sizes   = map[uint8]string{0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}
	helpers = map[int32]string{helperProbeReadKernel: "bpf_probe_read_kernel", helperSeqWrite: "bpf_seq_write"}
)

// insnText renders one instruction; target names where a jump goes.
func insnText(op, dst, src uint8, off int16, imm int32, target string) string {
	reg := func(r uint8) string { return fmt.Sprintf("r%d", r) }
	mem := func(base uint8) string { return fmt.Sprintf("*(%s *)(r%d %+d)", sizes[op&0x18], base, off) }
	class, code, fromReg, memMode := op&0x07, op&0xf0, op&0x08 != 0, op&0xe0 == 0x60
	switch {
	case class == 0x07 && aluOps[code] != "": // ALU64
		if fromReg {
			return fmt.Sprintf("%s %s %s", reg(dst), aluOps[code], reg(src))
		}
		return fmt.Sprintf("%s %s %s", reg(dst), aluOps[code], num(imm))
	case class == 0x01 && memMode: // LDX
		return fmt.Sprintf("%s = %s", reg(dst), mem(src))
	case class == 0x03 && memMode: // STX
		return fmt.Sprintf("%s = %s", mem(dst), reg(src))
	case class == 0x02 && memMode: // ST
		return fmt.Sprintf("%s = %s", mem(dst), num(imm))
	case op == 0x05:
		return "goto " + target
	case op == 0x85 && src == 2:
		return fmt.Sprintf("call kfunc#%d", imm)
	case op == 0x85 && src == 0:
		return fmt.Sprintf("call %s#%d", helpers[imm], imm)
	case op == 0x95:
		return "exit"
	case (class == 0x05 || class == 0x06) && jmpOps[code] != "":
		r := reg(dst)
		if class == 0x06 {
			r = fmt.Sprintf("w%d", dst) // JMP32: the low 32 bits
		}
		if fromReg {
			return fmt.Sprintf("if %s %s %s goto %s", r, jmpOps[code], reg(src), target)
		}
		return fmt.Sprintf("if %s %s %s goto %s", r, jmpOps[code], num(imm), target)
	}
	return fmt.Sprintf("unknown opcode %#02x dst=%d src=%d off=%d imm=%d", op, dst, src, off, imm)
}

// num renders an immediate: in hex where it is large (masks, device
// numbers, namespace inodes).
func num(v int32) string {
	if v > -4096 && v < 4096 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%#x", uint32(v))
}
