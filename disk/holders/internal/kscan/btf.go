package kscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// kernelBTF is the type information the running kernel describes itself
// with (/sys/kernel/btf/vmlinux): the BPF scan finds the iterators it
// attaches to and the offsets of the fields it reads there, so one binary
// works on every kernel build.
type kernelBTF struct {
	strs  []byte
	data  []byte   // the type section
	offs  []uint32 // offs[id-1] is where type id starts in data
	named map[btfName]uint32
}

// btfName is a kind and a name to look a type up by.
type btfName struct {
	kind uint32
	name string
}

// BTF kinds (include/uapi/linux/btf.h).
const (
	btfInt      = 1
	btfPtr      = 2
	btfArray    = 3
	btfStruct   = 4
	btfUnion    = 5
	btfEnum     = 6
	btfFwd      = 7
	btfTypedef  = 8
	btfVolatile = 9
	btfConst    = 10
	btfRestrict = 11
	btfFunc     = 12
	btfProto    = 13
	btfVar      = 14
	btfDatasec  = 15
	btfFloat    = 16
	btfDeclTag  = 17
	btfTypeTag  = 18
	btfEnum64   = 19
)

const btfMagic = 0xeb9f

var errBTF = errors.New("malformed BTF")

// parseBTF reads the header of a raw BTF blob and finds the type and
// string sections it points to; index then walks the types.
func parseBTF(b []byte) (*kernelBTF, error) {
	le := binary.LittleEndian
	if len(b) < 24 || le.Uint16(b) != btfMagic {
		return nil, fmt.Errorf("read BTF header: %w: bad magic", errBTF)
	}
	hdrLen := int(le.Uint32(b[4:]))
	typeOff, typeLen := int(le.Uint32(b[8:])), int(le.Uint32(b[12:]))
	strOff, strLen := int(le.Uint32(b[16:])), int(le.Uint32(b[20:]))
	if hdrLen < 24 || hdrLen > len(b) {
		return nil, fmt.Errorf("read BTF header: %w: header length %d", errBTF, hdrLen)
	}
	body := b[hdrLen:]
	if typeOff < 0 || typeLen < 0 || strOff < 0 || strLen < 0 ||
		typeOff+typeLen > len(body) || strOff+strLen > len(body) {
		return nil, fmt.Errorf("read BTF header: %w: sections outside the blob", errBTF)
	}
	return &kernelBTF{strs: body[strOff : strOff+strLen], data: body[typeOff : typeOff+typeLen]}, nil
}

// index walks the types once: it records where each starts, and finds
// the structs and functions named in wants (the first of each) for find.
func (k *kernelBTF) index(wants []btfName) error {
	k.named = make(map[btfName]uint32, len(wants))
	var first [256]bool
	for _, w := range wants {
		if w.name != "" {
			first[w.name[0]] = true
		}
	}
	le := binary.LittleEndian
	k.offs = make([]uint32, 0, len(k.data)/24)
	for at := 0; at < len(k.data); {
		id := len(k.offs) + 1
		if len(k.data)-at < 12 {
			return fmt.Errorf("read BTF type %d: %w: truncated", id, errBTF)
		}
		info := le.Uint32(k.data[at+4:])
		kind := info >> 24 & 0x1f
		extra, known := btfExtra(kind, int(info&0xffff))
		if !known || 12+extra > len(k.data)-at {
			return fmt.Errorf("read BTF type %d: %w: kind %d truncated", id, errBTF, kind)
		}
		k.offs = append(k.offs, uint32(at))
		if kind == btfStruct || kind == btfFunc {
			if off := le.Uint32(k.data[at:]); int(off) < len(k.strs) && first[k.strs[off]] {
				k.match(wants, kind, off, uint32(id))
			}
		}
		at += 12 + extra
	}
	return nil
}

// match records type id under each of wants it is the first of.
func (k *kernelBTF) match(wants []btfName, kind, nameOff, id uint32) {
	for _, w := range wants {
		if w.kind == kind && k.nameIs(nameOff, w.name) {
			if _, dup := k.named[w]; !dup {
				k.named[w] = id
			}
		}
	}
}

// nameIs reports whether the string at off is name.
func (k *kernelBTF) nameIs(off uint32, name string) bool {
	s := k.strs[off:]
	return len(s) > len(name) && s[len(name)] == 0 && string(s[:len(name)]) == name
}

// typ returns the raw record of type id (its 12-byte header and what
// follows).
func (k *kernelBTF) typ(id uint32) []byte {
	at := k.offs[id-1]
	end := uint32(len(k.data))
	if int(id) < len(k.offs) {
		end = k.offs[id]
	}
	return k.data[at:end]
}

// btfExtra is the size of the data that follows a type record of kind
// with vlen entries; known is false for a kind this parser does not know.
func btfExtra(kind uint32, vlen int) (size int, known bool) {
	switch kind {
	case btfInt, btfVar, btfDeclTag:
		return 4, true
	case btfArray:
		return 12, true
	case btfStruct, btfUnion, btfDatasec, btfEnum64:
		return 12 * vlen, true
	case btfEnum, btfProto:
		return 8 * vlen, true
	case btfPtr, btfFwd, btfTypedef, btfVolatile, btfConst, btfRestrict, btfFunc, btfFloat, btfTypeTag:
		return 0, true
	}
	return 0, false
}

func (k *kernelBTF) name(off uint32) string {
	if int(off) >= len(k.strs) {
		return ""
	}
	s := k.strs[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

func (k *kernelBTF) kind(id uint32) uint32 {
	return binary.LittleEndian.Uint32(k.typ(id)[4:]) >> 24 & 0x1f
}

// find returns the id of the first type of the kind (struct or func)
// named name; index must have been asked for it.
func (k *kernelBTF) find(kind uint32, name string) (uint32, error) {
	if id, ok := k.named[btfName{kind, name}]; ok {
		return id, nil
	}
	return 0, fmt.Errorf("find %s in kernel BTF: not there", name)
}

// resolve follows typedefs and qualifiers to the type they name.
func (k *kernelBTF) resolve(id uint32) uint32 {
	for range 32 {
		if id == 0 || int(id) > len(k.offs) {
			return 0
		}
		switch k.kind(id) {
		case btfTypedef, btfVolatile, btfConst, btfRestrict, btfTypeTag:
			id = binary.LittleEndian.Uint32(k.typ(id)[8:])
		default:
			return id
		}
	}
	return 0
}

// member finds the member called name of the struct or union id, looking
// into anonymous members; it returns its byte offset and type.
func (k *kernelBTF) member(id uint32, name string) (off uint32, typ uint32, ok bool) {
	id = k.resolve(id)
	if id == 0 || (k.kind(id) != btfStruct && k.kind(id) != btfUnion) {
		return 0, 0, false
	}
	le := binary.LittleEndian
	t := k.typ(id)
	bitfields := le.Uint32(t[4:])>>31 == 1
	for m := t[12:]; len(m) >= 12; m = m[12:] {
		bits := le.Uint32(m[8:])
		if bitfields {
			bits &= 0xffffff
		}
		mtype := le.Uint32(m[4:])
		switch mname := le.Uint32(m); {
		case mname == 0:
			if o, t, ok := k.member(mtype, name); ok {
				return bits/8 + o, t, true
			}
		case k.name(mname) == name:
			return bits / 8, mtype, true
		}
	}
	return 0, 0, false
}

// offset returns the byte offset of a dotted member path ("pwd.dentry")
// in the struct named structName.
func (k *kernelBTF) offset(structName, path string) (int32, error) {
	id, err := k.find(btfStruct, structName)
	if err != nil {
		return 0, err
	}
	var total uint32
	for _, part := range strings.Split(path, ".") {
		off, typ, ok := k.member(id, part)
		if !ok {
			return 0, fmt.Errorf("find %s.%s in kernel BTF: no member %s", structName, path, part)
		}
		total, id = total+off, typ
	}
	return int32(total), nil
}
