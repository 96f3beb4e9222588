package dirty

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Info record types of fanotify events (linux/fanotify.h).
const (
	infoFID         = unix.FAN_EVENT_INFO_TYPE_FID
	infoDFIDName    = unix.FAN_EVENT_INFO_TYPE_DFID_NAME
	infoDFID        = unix.FAN_EVENT_INFO_TYPE_DFID
	infoOldDFIDName = 10
	infoNewDFIDName = 12
)

// metaLen is the length of struct fanotify_event_metadata.
const metaLen = 24

// parse applies the events read into b to book. Anything it cannot make
// sense of is a loss: everything counts as changed.
func parse(b []byte, book *Book) {
	for len(b) > 0 {
		if len(b) < metaLen {
			book.Lost()
			return
		}
		evLen := binary.NativeEndian.Uint32(b)
		ml := int(binary.NativeEndian.Uint16(b[6:]))
		mask := binary.NativeEndian.Uint64(b[8:])
		fd := int32(binary.NativeEndian.Uint32(b[16:]))
		if b[4] != unix.FANOTIFY_METADATA_VERSION || ml < metaLen || uint64(evLen) < uint64(ml) || uint64(evLen) > uint64(len(b)) {
			book.Lost()
			return
		}
		if fd >= 0 {
			unix.Close(int(fd)) // never with FID reports; closed should it come
		}
		info := b[ml:evLen]
		b = b[evLen:]
		if mask&unix.FAN_Q_OVERFLOW != 0 {
			book.Lost()
			continue
		}
		event(mask, info, book)
	}
}

// event applies one event: every directory it names changed.
//
// An event on a file that names no directory is a link count change
// (link, unlink, rename over it: FAN_ATTRIB alone) or a change through a
// disconnected dentry (a file opened by handle, an NFS export). The
// latter is a loss. A link count change makes the file a suspect (see
// Book.Suspect), cleared when it is gone (FAN_DELETE_SELF: no names left,
// and every directory that had one got its FAN_DELETE); a suspect created
// in a directory next (FAN_CREATE, whose target FID names the file) is a
// link made (link(2) changes the count, then creates the name, in this
// order in the queue): a loss, since the directories that named the file
// before are not told of later writes through the new name. An unlink or
// a rename over a file does not make a loss: the victim goes away or
// keeps names whose directories each got their event (and a victim still
// open, written and closed reports its old directory, which is harmless).
func event(mask uint64, info []byte, book *Book) {
	var fid []byte
	dirs := 0
	for len(info) > 0 {
		if len(info) < 4 {
			book.Lost()
			return
		}
		typ, n := info[0], int(binary.NativeEndian.Uint16(info[2:]))
		if n < 4 || n > len(info) {
			book.Lost()
			return
		}
		rec := info[4:n]
		info = info[n:]
		switch typ {
		case infoFID, infoDFIDName, infoDFID, infoOldDFIDName, infoNewDFIDName:
		default:
			continue
		}
		k, ok := recordKey(rec)
		if !ok {
			book.Lost()
			return
		}
		if typ == infoFID {
			fid = k
			continue
		}
		book.Touch(k)
		dirs++
	}
	switch {
	case mask&unix.FAN_ONDIR != 0:
		// A directory itself: its own entry is always stat'ed by a walk,
		// its listing's changes come as events naming it.
		if fid != nil {
			book.Touch(fid)
		}
	case dirs > 0:
		if fid != nil && mask&unix.FAN_CREATE != 0 {
			book.Named(fid)
		}
	case fid == nil || mask&^(unix.FAN_ATTRIB|unix.FAN_DELETE_SELF) != 0:
		book.Lost()
	case mask&unix.FAN_DELETE_SELF != 0:
		book.Gone(fid)
	default:
		book.Suspect(fid)
	}
}

// recordKey turns a FID info record (after its header: fsid, then struct
// file_handle: handle_bytes, handle_type, f_handle) into a Book key.
func recordKey(rec []byte) ([]byte, bool) {
	if len(rec) < 16 {
		return nil, false
	}
	hb := binary.NativeEndian.Uint32(rec[8:])
	if hb > maxHandle || 16+int(hb) > len(rec) {
		return nil, false
	}
	k := make([]byte, 0, 12+hb)
	k = append(k, rec[:8]...)
	k = append(k, rec[12:16]...)
	return append(k, rec[16:16+hb]...), true
}

// maxHandle is MAX_HANDLE_SZ, the most bytes a file handle has.
const maxHandle = 128

// Handle returns the handle of the directory open as fd, as a Book key
// wants it after the fsid: its type (4 bytes) and bytes. It asks for the
// handle fanotify reports (AT_HANDLE_FID, Linux 6.5), falling back to the
// exportable one, the same on the file systems that have both.
func Handle(fd int) ([]byte, error) {
	h, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH|atHandleFID)
	if err == unix.EINVAL {
		h, _, err = unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH)
	}
	if err != nil {
		return nil, err
	}
	b := binary.NativeEndian.AppendUint32(nil, uint32(h.Type()))
	return append(b, h.Bytes()...), nil
}

// atHandleFID is AT_HANDLE_FID (linux/fcntl.h), not in x/sys/unix.
const atHandleFID = 0x200
