package client

import (
	"errors"
	"io/fs"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
)

// kindToProto maps sync/core's kinds to the protocol's.
func kindToProto(k core.Kind) proto.Kind {
	switch k {
	case core.File:
		return proto.KindFile
	case core.Dir:
		return proto.KindDir
	case core.Symlink:
		return proto.KindSymlink
	}
	return proto.KindAbsent
}

// kindFromProto maps the protocol's kinds to sync/core's.
func kindFromProto(k proto.Kind) core.Kind {
	switch k {
	case proto.KindFile:
		return core.File
	case proto.KindDir:
		return core.Dir
	case proto.KindSymlink:
		return core.Symlink
	}
	return core.None
}

// fromProto converts a protocol entry.
func fromProto(e proto.Entry) core.Entry {
	out := core.Entry{Kind: kindFromProto(e.Kind), Mode: fs.FileMode(e.Mode) & core.PermMask,
		MTime: e.Mtime, Hash: core.Digest(e.Hash), Target: e.Target}
	if out.Kind == core.File {
		out.Size = int64(e.Size)
	}
	return out
}

// expect is the compare-and-swap expectation for a planned Old state.
func expect(e core.Entry) proto.Expect {
	return proto.Expect{Kind: kindToProto(e.Kind), Hash: proto.Hash(e.Hash), Target: e.Target}
}

// fromScan converts a scanned entry; ok is false for a file whose content
// could not be hashed (being written, unreadable).
func fromScan(e *scan.Entry) (core.Entry, bool) {
	out := core.Entry{Mode: fs.FileMode(e.Mode) & core.PermMask, Size: e.Size, MTime: e.Mtime, Target: e.Target}
	switch e.Kind {
	case scan.File:
		out.Kind = core.File
		if errors.Is(e.Err, errUnhashed) {
			return out, true // its hash is to come (lazy.go)
		}
		if !e.HasHash() {
			return out, false
		}
		out.Hash = core.Digest(e.Hash)
	case scan.Dir:
		out.Kind, out.Size = core.Dir, 0
	case scan.Symlink:
		out.Kind, out.Size = core.Symlink, 0
	}
	return out, true
}
