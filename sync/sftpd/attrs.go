package sftpd

// Attribute flags of an ATTRS structure.
const (
	AttrSize        uint32 = 0x00000001
	AttrUIDGID      uint32 = 0x00000002
	AttrPermissions uint32 = 0x00000004
	AttrAcmodtime   uint32 = 0x00000008
	AttrExtended    uint32 = 0x80000000
)

// Attrs is an SFTP v3 ATTRS structure. Flags says which fields are present;
// the others are zero and not sent. Atime and Mtime are separate (seconds
// since the epoch, as v3 sends them).
type Attrs struct {
	Flags       uint32
	Size        uint64
	UID, GID    uint32
	Permissions uint32 // mode: file type and permission bits
	Atime       uint32
	Mtime       uint32
	Extended    []ExtPair
}

// ExtPair is a name and value: an extension in INIT and VERSION, or an
// extended attribute in ATTRS.
type ExtPair struct {
	Name, Data string
}

// minPair is the wire size of an empty ExtPair.
const minPair = 8

func (d *decoder) attrs() Attrs {
	a := Attrs{Flags: d.u32()}
	if a.Flags&AttrSize != 0 {
		a.Size = d.u64()
	}
	if a.Flags&AttrUIDGID != 0 {
		a.UID, a.GID = d.u32(), d.u32()
	}
	if a.Flags&AttrPermissions != 0 {
		a.Permissions = d.u32()
	}
	if a.Flags&AttrAcmodtime != 0 {
		a.Atime, a.Mtime = d.u32(), d.u32()
	}
	if a.Flags&AttrExtended != 0 {
		a.Extended = d.pairs()
	}
	return a
}

// pairs reads a count and that many name/value pairs.
func (d *decoder) pairs() []ExtPair {
	n := d.count(minPair)
	if n == 0 {
		return nil
	}
	ps := make([]ExtPair, n)
	for i := range ps {
		ps[i] = ExtPair{Name: d.str(), Data: d.str()}
	}
	return ps
}

// rest reads name/value pairs to the end of the packet (INIT, VERSION).
func (d *decoder) restPairs() []ExtPair {
	var ps []ExtPair
	for d.err == nil && len(d.b) > 0 {
		ps = append(ps, ExtPair{Name: d.str(), Data: d.str()})
	}
	return ps
}

func appendAttrs(b []byte, a *Attrs) []byte {
	b = appendU32(b, a.Flags)
	if a.Flags&AttrSize != 0 {
		b = appendU64(b, a.Size)
	}
	if a.Flags&AttrUIDGID != 0 {
		b = appendU32(appendU32(b, a.UID), a.GID)
	}
	if a.Flags&AttrPermissions != 0 {
		b = appendU32(b, a.Permissions)
	}
	if a.Flags&AttrAcmodtime != 0 {
		b = appendU32(appendU32(b, a.Atime), a.Mtime)
	}
	if a.Flags&AttrExtended != 0 {
		b = appendU32(b, uint32(len(a.Extended)))
		b = appendPairs(b, a.Extended)
	}
	return b
}

func appendPairs(b []byte, ps []ExtPair) []byte {
	for _, p := range ps {
		b = appendStr(appendStr(b, p.Name), p.Data)
	}
	return b
}
