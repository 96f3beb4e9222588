package dm

import (
	"bytes"
	"fmt"
)

// The payloads that follow struct dm_ioctl: target specs (sent with
// DM_TABLE_LOAD, returned by DM_TABLE_STATUS), the dependency list of
// DM_TABLE_DEPS, the name list of DM_LIST_DEVICES and the message of
// DM_TARGET_MSG. Parsers take what the kernel wrote and never trust an
// offset or a count in it.

// maxRecords bounds how many records a parser accepts, so a corrupt reply
// cannot make it allocate without limit.
const maxRecords = 1 << 16

// appendTargetSpec appends one struct dm_target_spec followed by its
// NUL-terminated parameters, padded to 8 bytes. Its next field is the
// size of the record, which is where a following spec starts.
func appendTargetSpec(dst []byte, start, length uint64, typ string, params []byte) ([]byte, error) {
	if typ == "" || len(typ) >= typeLen {
		return dst, fmt.Errorf("target type %q: want 1 to %d bytes", typ, typeLen-1)
	}
	if bytes.IndexByte(params, 0) >= 0 {
		return dst, fmt.Errorf("%s target parameters contain a NUL byte", typ)
	}
	n := align8(specSize + len(params) + 1)
	off := len(dst)
	dst = append(dst, make([]byte, n)...)
	rec := dst[off:]
	ne.PutUint64(rec[specStart:], start)
	ne.PutUint64(rec[specLength:], length)
	ne.PutUint32(rec[specNext:], uint32(n))
	copy(rec[specType:specType+typeLen], typ)
	copy(rec[specSize:], params)
	return dst, nil
}

// parseTargets reads count target specs from a DM_TABLE_STATUS reply, where
// each next field is an offset from the start of the first spec. Unless
// showKeys is set, the key of every crypt target is overwritten with zeros
// in data itself before any string is made from it.
func parseTargets(data []byte, count uint32, showKeys bool) ([]Target, error) {
	if count > maxRecords {
		return nil, fmt.Errorf("reply claims %d targets", count)
	}
	targets := make([]Target, 0, count)
	off := 0
	for i := uint32(0); i < count; i++ {
		if off+specSize > len(data) {
			return nil, fmt.Errorf("target %d at offset %d runs past the %d-byte reply", i, off, len(data))
		}
		rec := data[off:]
		params := rec[specSize:]
		end := bytes.IndexByte(params, 0)
		if end < 0 {
			return nil, fmt.Errorf("target %d: parameters not NUL-terminated", i)
		}
		params = params[:end]
		t := Target{
			Start:  ne.Uint64(rec[specStart:]),
			Length: ne.Uint64(rec[specLength:]),
			Type:   cString(rec[specType : specType+typeLen]),
		}
		if t.Type == "crypt" && !showKeys {
			maskCryptKey(params)
		}
		t.Params = string(params)
		targets = append(targets, t)
		if i+1 == count {
			break
		}
		next := int(ne.Uint32(rec[specNext:]))
		if next < off+specSize+end+1 {
			return nil, fmt.Errorf("target %d: next offset %d points backwards", i, next)
		}
		off = next
	}
	return targets, nil
}

// parseDeps reads a struct dm_target_deps: a count, 4 bytes of padding and
// count device numbers.
func parseDeps(data []byte) ([]Dev, error) {
	if len(data) == 0 {
		return nil, nil // no live table: the kernel wrote nothing
	}
	if len(data) < 8 {
		return nil, fmt.Errorf("dependency list of %d bytes is shorter than its count", len(data))
	}
	count := ne.Uint32(data)
	if uint64(count) > uint64(len(data)-8)/8 {
		return nil, fmt.Errorf("dependency list claims %d devices in %d bytes", count, len(data))
	}
	devs := make([]Dev, count)
	for i := range devs {
		devs[i] = decodeDev(ne.Uint64(data[8+8*i:]))
	}
	return devs, nil
}

// The layout of struct dm_name_list: dev u64, next u32, then the name.
// next is the offset of the following entry from the start of this one,
// 0 for the last. After the name's NUL, aligned to 8, newer kernels put the
// event number and a flags word, and (DM_UUID_FLAG asked, 5.14 and later)
// the uuid when the flags say there is one.
const (
	nlDev  = 0
	nlNext = 8
	nlName = 12
)

// parseNameList reads the reply of DM_LIST_DEVICES.
func parseNameList(data []byte) ([]Device, error) {
	if len(data) < nlName || ne.Uint64(data[nlDev:]) == 0 {
		return nil, nil // the kernel marks an empty list with dev 0
	}
	var devs []Device
	for off := 0; ; {
		if len(devs) == maxRecords {
			return nil, fmt.Errorf("device list longer than %d entries", maxRecords)
		}
		if off+nlName > len(data) {
			return nil, fmt.Errorf("device entry at offset %d runs past the %d-byte reply", off, len(data))
		}
		next := int(ne.Uint32(data[off+nlNext:]))
		end := len(data)
		if next != 0 {
			end = off + next
		}
		if end > len(data) {
			return nil, fmt.Errorf("device entry at offset %d: next offset %d runs past the %d-byte reply", off, next, len(data))
		}
		name := data[off+nlName : max(end, off+nlName)]
		n := bytes.IndexByte(name, 0)
		if n < 0 {
			return nil, fmt.Errorf("device entry at offset %d: name not NUL-terminated", off)
		}
		d := decodeDev(ne.Uint64(data[off+nlDev:]))
		dev := Device{Name: string(name[:n]), Major: d.Major, Minor: d.Minor}
		if extra := off + align8(nlName+n+1); extra+8 <= end {
			flags := ne.Uint32(data[extra+4:])
			if flags&nameListHasUUID != 0 {
				uuid := data[extra+8 : end]
				u := bytes.IndexByte(uuid, 0)
				if u < 0 {
					return nil, fmt.Errorf("device %q: uuid not NUL-terminated", dev.Name)
				}
				dev.UUID = string(uuid[:u])
			}
		}
		devs = append(devs, dev)
		if next == 0 {
			return devs, nil
		}
		off = end
	}
}

// targetMessage builds the payload of DM_TARGET_MSG: struct dm_target_msg
// (the sector u64 picks the target) and the NUL-terminated message.
func targetMessage(sector uint64, msg string) []byte {
	b := make([]byte, 8+len(msg)+1)
	ne.PutUint64(b, sector)
	copy(b[8:], msg)
	return b
}
