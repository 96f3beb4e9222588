package kscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
)

// btfBuilder writes a small BTF blob for tests.
type btfBuilder struct {
	types []byte
	strs  []byte
	n     uint32
}

func newBTFBuilder() *btfBuilder { return &btfBuilder{strs: []byte{0}} }

func (b *btfBuilder) str(s string) uint32 {
	if s == "" {
		return 0
	}
	off := uint32(len(b.strs))
	b.strs = append(append(b.strs, s...), 0)
	return off
}

// typ appends a type record and returns its id.
func (b *btfBuilder) typ(name string, kind, vlen uint32, kindFlag bool, sizeOrType uint32, extra ...uint32) uint32 {
	info := kind<<24 | vlen
	if kindFlag {
		info |= 1 << 31
	}
	for _, v := range append([]uint32{b.str(name), info, sizeOrType}, extra...) {
		b.types = binary.LittleEndian.AppendUint32(b.types, v)
	}
	b.n++
	return b.n
}

func (b *btfBuilder) blob() []byte {
	le := binary.LittleEndian
	h := le.AppendUint16(nil, btfMagic)
	h = append(h, 1, 0)
	for _, v := range []uint32{24, 0, uint32(len(b.types)), uint32(len(b.types)), uint32(len(b.strs))} {
		h = le.AppendUint32(h, v)
	}
	return append(append(h, b.types...), b.strs...)
}

// testBTF is a kernel-like set of types: a typedef'd struct inside a
// struct, an anonymous union, a bitfield struct and a function.
func testBTF() []byte {
	b := newBTFBuilder()
	intID := b.typ("int", btfInt, 0, false, 4, 32)
	ptr := b.typ("", btfPtr, 0, false, 0)
	path := b.typ("path", btfStruct, 2, false, 16, b.str("mnt"), ptr, 0, b.str("dentry"), ptr, 64)
	anon := b.typ("", btfUnion, 2, false, 8, b.str("lock"), intID, 0, b.str("seq"), intID, 0)
	pathT := b.typ("path_t", btfTypedef, 0, false, path)
	cpath := b.typ("", btfConst, 0, false, pathT)
	b.typ("fs_struct", btfStruct, 3, false, 64,
		b.str("users"), intID, 0, 0, anon, 64, b.str("pwd"), cpath, 256)
	proto := b.typ("", btfProto, 1, false, intID, b.str("ctx"), ptr)
	b.typ("bpf_iter_task", btfFunc, 0, false, proto)
	b.typ("bits", btfStruct, 2, true, 4, b.str("a"), intID, 3<<24, // 3 bits at 0
		b.str("b"), intID, 5<<24|16)
	b.typ("fs_struct", btfFwd, 0, false, 0) // a forward declaration of the same name
	return b.blob()
}

func indexedBTF(t *testing.T, blob []byte, wants ...btfName) *kernelBTF {
	t.Helper()
	k, err := parseBTF(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.index(wants); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBTFOffsets(t *testing.T) {
	k := indexedBTF(t, testBTF(), btfName{btfStruct, "fs_struct"}, btfName{btfStruct, "bits"},
		btfName{btfFunc, "bpf_iter_task"}, btfName{btfFunc, "missing"})
	for _, c := range []struct {
		strct, path string
		want        int32
	}{
		{"fs_struct", "users", 0},
		{"fs_struct", "seq", 8}, // in the anonymous union
		{"fs_struct", "pwd", 32},
		{"fs_struct", "pwd.dentry", 40}, // through a const typedef
		{"bits", "b", 2},                // a bitfield's offset without its size
	} {
		got, err := k.offset(c.strct, c.path)
		if err != nil || got != c.want {
			t.Errorf("offset(%s, %s): got %d, %v; want %d", c.strct, c.path, got, err, c.want)
		}
	}
	if id, err := k.find(btfFunc, "bpf_iter_task"); err != nil || id != 9 {
		t.Errorf("find bpf_iter_task: got %d, %v; want 9", id, err)
	}
	for _, c := range [][2]string{{"fs_struct", "pwd.inode"}, {"fs_struct", "users.x"}, {"nosuch", "x"}} {
		if _, err := k.offset(c[0], c[1]); err == nil {
			t.Errorf("offset(%s, %s): got no error", c[0], c[1])
		}
	}
	if _, err := k.find(btfFunc, "missing"); err == nil {
		t.Error("find missing: got no error")
	}
}

func TestBTFMalformed(t *testing.T) {
	good := testBTF()
	for name, edit := range map[string]func([]byte) []byte{
		"bad magic":       func(b []byte) []byte { b[0] = 0; return b },
		"short":           func(b []byte) []byte { return b[:10] },
		"header too long": func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1<<30); return b },
		"strings outside": func(b []byte) []byte { binary.LittleEndian.PutUint32(b[20:], 1<<20); return b },
		"truncated type": func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[12:], 30) // type_len cuts the third type
			return b
		},
		"unknown kind": func(b []byte) []byte { b[24+7] = 31; return b }, // first type's kind
	} {
		b := edit(append([]byte(nil), good...))
		k, err := parseBTF(b)
		if err == nil {
			err = k.index(nil)
		}
		if !errors.Is(err, errBTF) {
			t.Errorf("%s: got %v, want errBTF", name, err)
		}
	}
}

// TestKernelLayout reads the running kernel's BTF, where there is one.
func TestKernelLayout(t *testing.T) {
	blob, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("no kernel BTF here: %v", err)
	}
	k, err := parseBTF(blob)
	if err != nil {
		t.Fatal(err)
	}
	l, err := newKernelLayout(k)
	if err != nil {
		t.Fatal(err)
	}
	// The fields each struct starts with, and no two fields of a struct
	// at one offset.
	if l.inodeMode != 0 {
		t.Errorf("inode.i_mode at %d; it starts its struct", l.inodeMode)
	}
	seen := map[string]string{}
	for _, f := range l.fields() {
		key := fmt.Sprintf("%s@%d", f.strct, *f.dst)
		if other, dup := seen[key]; dup {
			t.Errorf("%s.%s and %s share offset %d", f.strct, f.field, other, *f.dst)
		}
		seen[key] = f.field
	}
	for _, id := range []int32{l.task, l.file, l.vma} {
		if id <= 0 {
			t.Errorf("struct ids: got %d %d %d", l.task, l.file, l.vma)
		}
	}
}
