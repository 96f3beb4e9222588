package dm

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The layout of struct dm_ioctl, in bytes. Integers are in the machine's
// byte order; name and uuid are NUL-terminated inside fixed arrays.
const (
	offVersion     = 0  // [3]u32
	offDataSize    = 12 // u32: size of the whole buffer, header included
	offDataStart   = 16 // u32: offset of the payload from the header's start
	offTargetCount = 20 // u32
	offOpenCount   = 24 // s32
	offFlags       = 28 // u32
	offEventNr     = 32 // u32
	offDev         = 40 // u64, after 4 bytes of padding
	offName        = 48
	nameLen        = 128 // DM_NAME_LEN, terminating NUL included
	offUUID        = offName + nameLen
	uuidLen        = 129               // DM_UUID_LEN, terminating NUL included
	offData        = offUUID + uuidLen // 305: the kernel's minimum data_size
	headerSize     = 312               // sizeof(struct dm_ioctl), 8-aligned

	// The layout of struct dm_target_spec.
	specStart    = 0  // u64 sector_start
	specLength   = 8  // u64 length
	specStatus   = 16 // s32
	specNext     = 20 // u32
	specType     = 24 // char[16]
	typeLen      = 16 // DM_MAX_TYPE_NAME
	specSize     = 40
	maxNameBytes = nameLen - 1
	maxUUIDBytes = uuidLen - 1
)

// The interface version this package asks for. The kernel refuses a
// request whose major differs or whose minor is newer than its own, and
// answers with its own version. 4.27 (Linux 3.13) brought deferred remove,
// the newest feature used here.
const (
	versionMajor = 4
	versionMinor = 27
	versionPatch = 0
)

// Flags in dm_ioctl.flags (values from the uapi header; a Linux-only test
// checks them against golang.org/x/sys/unix).
const (
	flagReadOnly       = 1 << 0  // DM_READONLY_FLAG: in (table load) and out
	flagSuspend        = 1 << 1  // DM_SUSPEND_FLAG: in (suspend, not resume) and out
	flagStatusTable    = 1 << 4  // DM_STATUS_TABLE_FLAG: table, not status, text
	flagActivePresent  = 1 << 5  // DM_ACTIVE_PRESENT_FLAG: out
	flagBufferFull     = 1 << 8  // DM_BUFFER_FULL_FLAG: out, retry with more room
	flagUUID           = 1 << 14 // DM_UUID_FLAG: list devices with their uuids
	flagSecureData     = 1 << 15 // DM_SECURE_DATA_FLAG: kernel wipes its copies
	flagDeferredRemove = 1 << 17 // DM_DEFERRED_REMOVE: in (remove) and out

	// Flags of struct dm_name_list entries (the word after event_nr).
	nameListHasUUID = 1 // DM_NAME_LIST_FLAG_HAS_UUID
)

var ne = binary.NativeEndian

// header is the fixed part of a request or reply.
type header struct {
	Version     [3]uint32
	DataSize    uint32
	DataStart   uint32
	TargetCount uint32
	OpenCount   int32
	Flags       uint32
	EventNr     uint32
	Dev         uint64
	Name        string
	UUID        string
}

// put writes h into b[:headerSize]. Name and UUID must already be valid
// (validName, validUUID); put truncates nothing and fails instead.
func (h *header) put(b []byte) error {
	if len(b) < headerSize {
		return fmt.Errorf("ioctl buffer of %d bytes is smaller than the %d-byte header", len(b), headerSize)
	}
	if len(h.Name) > maxNameBytes || len(h.UUID) > maxUUIDBytes {
		return fmt.Errorf("name or uuid too long for struct dm_ioctl")
	}
	clear(b[:headerSize])
	for i, v := range h.Version {
		ne.PutUint32(b[offVersion+4*i:], v)
	}
	ne.PutUint32(b[offDataSize:], h.DataSize)
	ne.PutUint32(b[offDataStart:], h.DataStart)
	ne.PutUint32(b[offTargetCount:], h.TargetCount)
	ne.PutUint32(b[offOpenCount:], uint32(h.OpenCount))
	ne.PutUint32(b[offFlags:], h.Flags)
	ne.PutUint32(b[offEventNr:], h.EventNr)
	ne.PutUint64(b[offDev:], h.Dev)
	copy(b[offName:offName+maxNameBytes], h.Name)
	copy(b[offUUID:offUUID+maxUUIDBytes], h.UUID)
	return nil
}

// parseHeader reads the fixed part of a reply.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("reply of %d bytes is shorter than the %d-byte header", len(b), headerSize)
	}
	var h header
	for i := range h.Version {
		h.Version[i] = ne.Uint32(b[offVersion+4*i:])
	}
	h.DataSize = ne.Uint32(b[offDataSize:])
	h.DataStart = ne.Uint32(b[offDataStart:])
	h.TargetCount = ne.Uint32(b[offTargetCount:])
	h.OpenCount = int32(ne.Uint32(b[offOpenCount:]))
	h.Flags = ne.Uint32(b[offFlags:])
	h.EventNr = ne.Uint32(b[offEventNr:])
	h.Dev = ne.Uint64(b[offDev:])
	h.Name = cString(b[offName : offName+nameLen])
	h.UUID = cString(b[offUUID : offUUID+uuidLen])
	return h, nil
}

// newRequest returns a buffer of size bytes (at least the header and the
// payload) holding h, with payload placed right after the header. It sets
// Version, DataStart and DataSize; the caller owns and must clear the buffer.
func newRequest(h header, payload []byte, size int) ([]byte, error) {
	if need := headerSize + len(payload) + 1; size < need {
		size = need // room for one NUL past the payload, which the kernel may look for
	}
	if size > 1<<30 {
		return nil, fmt.Errorf("ioctl buffer of %d bytes is too large", size)
	}
	b := make([]byte, size)
	h.Version = [3]uint32{versionMajor, versionMinor, versionPatch}
	h.DataStart = headerSize
	h.DataSize = uint32(size)
	if err := h.put(b); err != nil {
		return nil, err
	}
	copy(b[headerSize:], payload)
	return b, nil
}

// parseReply reads a reply buffer: its header and the payload the kernel
// wrote, which is empty when the command returns no data.
func parseReply(b []byte) (header, []byte, error) {
	h, err := parseHeader(b)
	if err != nil {
		return header{}, nil, err
	}
	if h.Version[0] != versionMajor {
		return header{}, nil, fmt.Errorf("reply from device-mapper interface version %d.%d.%d, want %d.x",
			h.Version[0], h.Version[1], h.Version[2], versionMajor)
	}
	if h.DataSize > uint32(len(b)) {
		return header{}, nil, fmt.Errorf("reply data_size %d exceeds the %d-byte buffer", h.DataSize, len(b))
	}
	if h.DataSize <= h.DataStart {
		return h, nil, nil // no payload: the kernel leaves data_size at 305
	}
	if h.DataStart < headerSize {
		return header{}, nil, fmt.Errorf("reply data_start %d overlaps the %d-byte header", h.DataStart, headerSize)
	}
	return h, b[h.DataStart:h.DataSize], nil
}

// cString returns the bytes of b up to its first NUL (all of b if none).
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// align8 rounds n up to a multiple of 8, the alignment of every record the
// kernel places after the header.
func align8(n int) int { return (n + 7) &^ 7 }
