package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// absent is the Expect of a name that must be free.
var absent = proto.Expect{Kind: proto.KindAbsent}

// do carries out one action on the server through the remote client,
// every change based on the plan's Old (compare-and-swap: the server
// answers a conflict when the path is no longer Old).
func (x *executor) doRemote(ctx context.Context, a core.Action) error {
	r, p := x.remote, remotePath(x.base, a.Path)
	var err error
	switch a.Op {
	case core.OpAside:
		_, err = r.Rename(ctx, remotePath(x.base, a.From), p, expectOf(a.Old), absent)
	case core.OpMkdir:
		if a.Old.Present() {
			if err = r.Delete(ctx, p, expectOf(a.Old)); err != nil {
				break
			}
		}
		_, err = r.Mkdir(ctx, p, uint32(a.New.Mode&core.PermMask), a.New.MTime)
	case core.OpMove:
		var e proto.Entry
		e, err = r.Rename(ctx, remotePath(x.base, a.From), p, expectOf(a.Old), absent)
		if err == nil && (e.Mode != uint32(a.New.Mode&core.PermMask) || e.Mtime != a.New.MTime) {
			_, err = r.SetAttr(ctx, p, expectOf(a.New), uint32(a.New.Mode&core.PermMask), a.New.MTime)
		}
	case core.OpRemove:
		err = r.Delete(ctx, p, expectOf(a.Old))
	case core.OpWrite:
		if a.New.Kind == core.Symlink {
			_, err = r.Symlink(ctx, p, a.New.Target, expectOf(a.Old))
		} else {
			err = x.upload(ctx, a)
		}
	case core.OpSetMeta:
		_, err = r.SetAttr(ctx, p, expectOf(a.Old), uint32(a.New.Mode&core.PermMask), a.New.MTime)
	default:
		err = fmt.Errorf("unknown op %v", a.Op)
	}
	if err != nil {
		return fmt.Errorf("remote %v %s: %w", a.Op, a.Path, err)
	}
	return nil
}

// upload sends the local file a.From to a.Path on the server, as a delta
// against the server's file when a.Old is one. The remote client checks
// that what it reads hashes to a.New.Hash: a file changed since the scan
// is not recorded torn.
func (x *executor) upload(ctx context.Context, a core.Action) error {
	f, err := x.local.root.OpenFile(a.From, os.O_RDONLY, 0, false)
	if err != nil {
		return wrapOp("open", a.From, err)
	}
	defer f.Close()
	o := UploadOptions{Mode: uint32(a.New.Mode & core.PermMask), Mtime: a.New.MTime, Size: a.New.Size, Hash: proto.Hash(a.New.Hash)}
	_, _ = rand.Read(o.Transfer[:])
	_, ts, err := x.remote.Upload(ctx, remotePath(x.base, a.Path), expectOf(a.Old), f, o)
	x.count(ts)
	return err
}

// mkdirAll makes the server's folder base and its parents.
func mkdirAll(ctx context.Context, r Remote, base string) error {
	if base == "" {
		return nil
	}
	for i := 0; i <= len(base); i++ {
		if i == len(base) || base[i] == '/' {
			if _, err := r.Mkdir(ctx, base[:i], 0o755, 0); err != nil {
				return fmt.Errorf("make remote folder %s: %w", base[:i], err)
			}
		}
	}
	return nil
}
