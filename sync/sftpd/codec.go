package sftpd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types of SFTP version 3 (draft-ietf-secsh-filexfer-02).
const (
	TypeInit          uint8 = 1
	TypeVersion       uint8 = 2
	TypeOpen          uint8 = 3
	TypeClose         uint8 = 4
	TypeRead          uint8 = 5
	TypeWrite         uint8 = 6
	TypeLstat         uint8 = 7
	TypeFstat         uint8 = 8
	TypeSetstat       uint8 = 9
	TypeFsetstat      uint8 = 10
	TypeOpendir       uint8 = 11
	TypeReaddir       uint8 = 12
	TypeRemove        uint8 = 13
	TypeMkdir         uint8 = 14
	TypeRmdir         uint8 = 15
	TypeRealpath      uint8 = 16
	TypeStat          uint8 = 17
	TypeRename        uint8 = 18
	TypeReadlink      uint8 = 19
	TypeSymlink       uint8 = 20
	TypeStatus        uint8 = 101
	TypeHandle        uint8 = 102
	TypeData          uint8 = 103
	TypeName          uint8 = 104
	TypeAttrs         uint8 = 105
	TypeExtended      uint8 = 200
	TypeExtendedReply uint8 = 201
)

// Status codes of SSH_FXP_STATUS.
const (
	StatusOK               uint32 = 0
	StatusEOF              uint32 = 1
	StatusNoSuchFile       uint32 = 2
	StatusPermissionDenied uint32 = 3
	StatusFailure          uint32 = 4
	StatusBadMessage       uint32 = 5
	StatusNoConnection     uint32 = 6
	StatusConnectionLost   uint32 = 7
	StatusOpUnsupported    uint32 = 8
)

// Open flags (pflags) of SSH_FXP_OPEN.
const (
	OpenRead   uint32 = 0x01
	OpenWrite  uint32 = 0x02
	OpenAppend uint32 = 0x04
	OpenCreat  uint32 = 0x08
	OpenTrunc  uint32 = 0x10
	OpenExcl   uint32 = 0x20
)

// MaxPacket is the largest packet (type byte and body) ReadFrame accepts by
// default: OpenSSH's sftp-server limit, enough for a 255 KiB write.
const MaxPacket = 256 * 1024

// ErrBadPacket is wrapped by every decoding error: the packet is truncated,
// has trailing bytes, an unknown type or a length that exceeds its frame.
var ErrBadPacket = errors.New("bad sftp packet")

// ReadFrame reads one uint32-length-framed packet from r into buf (grown if
// needed, never beyond max bytes) and returns the packet: its type byte and
// body. A zero length or one above max is an error, before anything is
// allocated.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err // io.EOF at a packet boundary is the clean end
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || uint64(n) > uint64(max) {
		return nil, fmt.Errorf("read sftp frame: length %d outside 1..%d: %w", n, max, ErrBadPacket)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read sftp frame: %w", noEOF(err))
	}
	return buf, nil
}

// noEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decoder reads the fields of one packet body; the first failure sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w", what, ErrBadPacket)
	}
	d.b = nil
}

func (d *decoder) u32() uint32 {
	if len(d.b) < 4 {
		d.fail("truncated uint32")
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail("truncated uint64")
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// bytes returns a length-prefixed byte string, aliasing the input.
func (d *decoder) bytes() []byte {
	n := d.u32()
	if uint64(n) > uint64(len(d.b)) {
		d.fail("string longer than its packet")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

// count reads an element count and checks that the rest of the packet can
// hold that many elements of at least min bytes each, so that no count
// from the wire sizes an allocation beyond the packet.
func (d *decoder) count(min int) int {
	n := d.u32()
	if uint64(n)*uint64(min) > uint64(len(d.b)) {
		d.fail("count larger than its packet")
		return 0
	}
	return int(n)
}

// end fails if bytes are left over.
func (d *decoder) end() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
}

func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendBytes(b, v []byte) []byte { return append(appendU32(b, uint32(len(v))), v...) }
func appendStr(b []byte, v string) []byte {
	return append(appendU32(b, uint32(len(v))), v...)
}
