package sftpd

import (
	"encoding/binary"
	"fmt"
)

// Packet is one decoded SFTP packet. Decode returns the concrete types
// below as pointers; AppendFrame encodes any of them.
type Packet interface {
	// Type is the packet type byte.
	Type() uint8
	appendBody(b []byte) []byte
}

// Init is SSH_FXP_INIT: the client's version and extensions.
type Init struct {
	Version    uint32
	Extensions []ExtPair
}

// Version is SSH_FXP_VERSION: the server's version and extensions.
type Version struct {
	Version    uint32
	Extensions []ExtPair
}

// Open is SSH_FXP_OPEN.
type Open struct {
	ID     uint32
	Path   string
	PFlags uint32
	Attrs  Attrs
}

// PathReq is a request on one path: LSTAT, OPENDIR, REMOVE, RMDIR, REALPATH,
// STAT or READLINK (T says which).
type PathReq struct {
	T    uint8
	ID   uint32
	Path string
}

// HandleReq carries one handle: the requests CLOSE, FSTAT and READDIR, and
// the response HANDLE (T says which).
type HandleReq struct {
	T      uint8
	ID     uint32
	Handle string
}

// Read is SSH_FXP_READ.
type Read struct {
	ID     uint32
	Handle string
	Offset uint64
	Len    uint32
}

// Write is SSH_FXP_WRITE. Data aliases the decoded packet's buffer.
type Write struct {
	ID     uint32
	Handle string
	Offset uint64
	Data   []byte
}

// PathAttrs is SETSTAT or MKDIR: a path and attributes (T says which).
type PathAttrs struct {
	T     uint8
	ID    uint32
	Path  string
	Attrs Attrs
}

// Fsetstat is SSH_FXP_FSETSTAT.
type Fsetstat struct {
	ID     uint32
	Handle string
	Attrs  Attrs
}

// TwoPaths is RENAME (old, new) or SYMLINK (T says which). The paths are
// kept in wire order: OpenSSH sends SYMLINK's target first and the link
// second, the reverse of the draft, and every client follows OpenSSH.
type TwoPaths struct {
	T    uint8
	ID   uint32
	A, B string
}

// Extended is SSH_FXP_EXTENDED: the request name and its raw payload, which
// the extension's handler decodes. Data aliases the decoded packet's buffer.
type Extended struct {
	ID   uint32
	Name string
	Data []byte
}

// Status is SSH_FXP_STATUS.
type Status struct {
	ID        uint32
	Code      uint32
	Message   string
	Language  string
	omitTexts bool // a bare status from an old client: no message, no language
}

// Handle returns a HANDLE response.
func Handle(id uint32, handle string) *HandleReq {
	return &HandleReq{T: TypeHandle, ID: id, Handle: handle}
}

// Data is SSH_FXP_DATA.
type Data struct {
	ID   uint32
	Data []byte
}

// NameEntry is one entry of a NAME response.
type NameEntry struct {
	Name     string
	LongName string
	Attrs    Attrs
}

// Name is SSH_FXP_NAME.
type Name struct {
	ID      uint32
	Entries []NameEntry
}

// AttrsReply is SSH_FXP_ATTRS.
type AttrsReply struct {
	ID    uint32
	Attrs Attrs
}

// ExtendedReply is SSH_FXP_EXTENDED_REPLY with its raw payload.
type ExtendedReply struct {
	ID   uint32
	Data []byte
}

func (*Init) Type() uint8          { return TypeInit }
func (*Version) Type() uint8       { return TypeVersion }
func (*Open) Type() uint8          { return TypeOpen }
func (p *PathReq) Type() uint8     { return p.T }
func (p *HandleReq) Type() uint8   { return p.T }
func (*Read) Type() uint8          { return TypeRead }
func (*Write) Type() uint8         { return TypeWrite }
func (p *PathAttrs) Type() uint8   { return p.T }
func (*Fsetstat) Type() uint8      { return TypeFsetstat }
func (p *TwoPaths) Type() uint8    { return p.T }
func (*Extended) Type() uint8      { return TypeExtended }
func (*Status) Type() uint8        { return TypeStatus }
func (*Data) Type() uint8          { return TypeData }
func (*Name) Type() uint8          { return TypeName }
func (*AttrsReply) Type() uint8    { return TypeAttrs }
func (*ExtendedReply) Type() uint8 { return TypeExtendedReply }

func (p *Init) appendBody(b []byte) []byte {
	return appendPairs(appendU32(b, p.Version), p.Extensions)
}
func (p *Version) appendBody(b []byte) []byte {
	return appendPairs(appendU32(b, p.Version), p.Extensions)
}
func (p *Open) appendBody(b []byte) []byte {
	return appendAttrs(appendU32(appendStr(appendU32(b, p.ID), p.Path), p.PFlags), &p.Attrs)
}
func (p *PathReq) appendBody(b []byte) []byte   { return appendStr(appendU32(b, p.ID), p.Path) }
func (p *HandleReq) appendBody(b []byte) []byte { return appendStr(appendU32(b, p.ID), p.Handle) }
func (p *Read) appendBody(b []byte) []byte {
	return appendU32(appendU64(appendStr(appendU32(b, p.ID), p.Handle), p.Offset), p.Len)
}
func (p *Write) appendBody(b []byte) []byte {
	return appendBytes(appendU64(appendStr(appendU32(b, p.ID), p.Handle), p.Offset), p.Data)
}
func (p *PathAttrs) appendBody(b []byte) []byte {
	return appendAttrs(appendStr(appendU32(b, p.ID), p.Path), &p.Attrs)
}
func (p *Fsetstat) appendBody(b []byte) []byte {
	return appendAttrs(appendStr(appendU32(b, p.ID), p.Handle), &p.Attrs)
}
func (p *TwoPaths) appendBody(b []byte) []byte {
	return appendStr(appendStr(appendU32(b, p.ID), p.A), p.B)
}
func (p *Extended) appendBody(b []byte) []byte {
	return append(appendStr(appendU32(b, p.ID), p.Name), p.Data...)
}
func (p *Status) appendBody(b []byte) []byte {
	b = appendU32(appendU32(b, p.ID), p.Code)
	if p.omitTexts {
		return b
	}
	return appendStr(appendStr(b, p.Message), p.Language)
}
func (p *Data) appendBody(b []byte) []byte { return appendBytes(appendU32(b, p.ID), p.Data) }
func (p *Name) appendBody(b []byte) []byte {
	b = appendU32(appendU32(b, p.ID), uint32(len(p.Entries)))
	for i := range p.Entries {
		e := &p.Entries[i]
		b = appendAttrs(appendStr(appendStr(b, e.Name), e.LongName), &e.Attrs)
	}
	return b
}
func (p *AttrsReply) appendBody(b []byte) []byte { return appendAttrs(appendU32(b, p.ID), &p.Attrs) }
func (p *ExtendedReply) appendBody(b []byte) []byte {
	return append(appendU32(b, p.ID), p.Data...)
}

// AppendFrame appends p to b as a frame: uint32 length, type byte, body.
func AppendFrame(b []byte, p Packet) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, p.Type())
	b = p.appendBody(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// minEntry is the wire size of a NAME entry with empty names and no
// attributes.
const minEntry = 12

// Decode decodes one packet (type byte and body, as ReadFrame returns it).
// Byte fields of the result (Write.Data, Extended.Data, ExtendedReply.Data)
// alias pkt. Every malformed packet is an error wrapping ErrBadPacket,
// trailing bytes included.
func Decode(pkt []byte) (Packet, error) { return decode(pkt, true) }

// decodeRequest decodes a request as OpenSSH's sftp-server does: bytes
// after the last field are ignored. Some clients send them (the pkg/sftp of
// rclone 1.60 pads its concurrent WRITEs), and OpenSSH skips them.
func decodeRequest(pkt []byte) (Packet, error) { return decode(pkt, false) }

func decode(pkt []byte, strict bool) (Packet, error) {
	if len(pkt) == 0 {
		return nil, fmt.Errorf("empty packet: %w", ErrBadPacket)
	}
	t := pkt[0]
	d := &decoder{b: pkt[1:]}
	var p Packet
	switch t {
	case TypeInit:
		p = &Init{Version: d.u32(), Extensions: d.restPairs()}
	case TypeVersion:
		p = &Version{Version: d.u32(), Extensions: d.restPairs()}
	case TypeOpen:
		p = &Open{ID: d.u32(), Path: d.str(), PFlags: d.u32(), Attrs: d.attrs()}
	case TypeLstat, TypeOpendir, TypeRemove, TypeRmdir, TypeRealpath, TypeStat, TypeReadlink:
		p = &PathReq{T: t, ID: d.u32(), Path: d.str()}
	case TypeClose, TypeFstat, TypeReaddir, TypeHandle:
		p = &HandleReq{T: t, ID: d.u32(), Handle: d.str()}
	case TypeRead:
		p = &Read{ID: d.u32(), Handle: d.str(), Offset: d.u64(), Len: d.u32()}
	case TypeWrite:
		p = &Write{ID: d.u32(), Handle: d.str(), Offset: d.u64(), Data: d.bytes()}
	case TypeSetstat, TypeMkdir:
		p = &PathAttrs{T: t, ID: d.u32(), Path: d.str(), Attrs: d.attrs()}
	case TypeFsetstat:
		p = &Fsetstat{ID: d.u32(), Handle: d.str(), Attrs: d.attrs()}
	case TypeRename, TypeSymlink:
		p = &TwoPaths{T: t, ID: d.u32(), A: d.str(), B: d.str()}
	case TypeExtended:
		e := &Extended{ID: d.u32(), Name: d.str()}
		e.Data, d.b = d.b, nil
		p = e
	case TypeStatus:
		s := &Status{ID: d.u32(), Code: d.u32()}
		if d.err == nil && len(d.b) == 0 {
			s.omitTexts = true
		} else {
			s.Message, s.Language = d.str(), d.str()
		}
		p = s
	case TypeData:
		p = &Data{ID: d.u32(), Data: d.bytes()}
	case TypeName:
		p = d.name()
	case TypeAttrs:
		p = &AttrsReply{ID: d.u32(), Attrs: d.attrs()}
	case TypeExtendedReply:
		e := &ExtendedReply{ID: d.u32()}
		e.Data, d.b = d.b, nil
		p = e
	default:
		return nil, fmt.Errorf("packet type %d: %w", t, ErrBadPacket)
	}
	if strict {
		d.end()
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode packet type %d: %w", t, d.err)
	}
	return p, nil
}

func (d *decoder) name() *Name {
	n := &Name{ID: d.u32()}
	c := d.count(minEntry)
	if c > 0 {
		n.Entries = make([]NameEntry, c)
	}
	for i := range n.Entries {
		n.Entries[i] = NameEntry{Name: d.str(), LongName: d.str(), Attrs: d.attrs()}
	}
	return n
}
