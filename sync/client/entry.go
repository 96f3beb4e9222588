package client

import (
	"io/fs"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
)

// fromProto converts a wire entry to sync/core's (core.Digest is the
// wire hash's bytes). Only a file keeps a size and hash, only a link a
// target, and a link has no mode.
func fromProto(e proto.Entry) core.Entry {
	var c core.Entry
	switch e.Kind {
	case proto.KindFile:
		c = core.Entry{Kind: core.File, Size: int64(e.Size), Hash: core.Digest(e.Hash)}
	case proto.KindDir:
		c = core.Entry{Kind: core.Dir}
	case proto.KindSymlink:
		return core.Entry{Kind: core.Symlink, MTime: e.Mtime, Target: e.Target}
	default:
		return core.Entry{}
	}
	c.Mode = fs.FileMode(e.Mode) & core.PermMask
	c.MTime = e.Mtime
	return c
}

func protoKind(k core.Kind) proto.Kind {
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

// expectOf is the compare-and-swap state a remote change is based on:
// the plan's Old.
func expectOf(e core.Entry) proto.Expect {
	x := proto.Expect{Kind: protoKind(e.Kind)}
	switch e.Kind {
	case core.File:
		x.Hash = proto.Hash(e.Hash)
	case core.Symlink:
		x.Target = e.Target
	}
	return x
}

// fromScan converts a local scan entry. A file without a known hash
// (Unstable, Err) gets a zero Digest: see snapshot for what is done with
// it.
func fromScan(e *scan.Entry) core.Entry {
	switch e.Kind {
	case scan.File:
		return core.Entry{Kind: core.File, Mode: fs.FileMode(e.Mode) & core.PermMask, Size: e.Size, MTime: e.Mtime, Hash: core.Digest(e.Hash)}
	case scan.Dir:
		return core.Entry{Kind: core.Dir, Mode: fs.FileMode(e.Mode) & core.PermMask, MTime: e.Mtime}
	case scan.Symlink:
		return core.Entry{Kind: core.Symlink, MTime: e.Mtime, Target: e.Target}
	}
	return core.Entry{}
}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) }
