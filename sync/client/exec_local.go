package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// errRaced wraps every compare-and-swap failure: the path is not in the
// state the plan was based on, so the action is left for the next run.
var errRaced = errors.New("changed since the plan was made")

// local carries out actions on the local folder. Each worker has its own
// scanner (a Scanner is not safe for concurrent use) for the
// compare-and-swap checks.
type local struct {
	root     *rootfs.Root
	scanners []*scan.Scanner
	ex       *executor
}

// current returns the state of p as a scan would report it. A path that
// does not exist (or whose parent is not a directory) is absent; a file
// whose hash cannot be had, or a fifo, socket or device, is reported as
// a race, since it matches no plan.
func (l *local) current(w int, p string) (core.Entry, error) {
	e, ok, err := l.scanners[w].Stat(p, false)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return core.Entry{}, nil
	}
	if err != nil {
		return core.Entry{}, fmt.Errorf("check %s: %w", p, err)
	}
	if !ok || (e.Kind == scan.File && !e.HasHash()) {
		return core.Entry{}, fmt.Errorf("check %s: %w", p, errRaced)
	}
	return fromScan(&e), nil
}

// check fails with errRaced unless p is still old.
func (l *local) check(w int, p string, old core.Entry) error {
	cur, err := l.current(w, p)
	if err != nil {
		return err
	}
	if !old.Matches(cur) {
		return fmt.Errorf("%s: %w (expected %v, found %v)", p, errRaced, old, cur)
	}
	return nil
}

// do carries out one action.
func (l *local) do(ctx context.Context, w int, a core.Action) error {
	switch a.Op {
	case core.OpAside:
		return l.rename(w, a.From, a.Path, a.Old, core.Entry{})
	case core.OpMkdir:
		return l.mkdir(w, a)
	case core.OpMove:
		return l.rename(w, a.From, a.Path, a.Old, a.New)
	case core.OpRemove:
		if err := l.check(w, a.Path, a.Old); err != nil {
			return err
		}
		flags := 0
		if a.Old.Kind == core.Dir {
			flags = unix.AT_REMOVEDIR
		}
		l.ex.touch(core.Parent(a.Path))
		return wrapOp("remove", a.Path, l.root.Remove(a.Path, flags))
	case core.OpWrite:
		return l.write(ctx, w, a)
	case core.OpSetMeta:
		if err := l.check(w, a.Path, a.Old); err != nil {
			return err
		}
		return l.setMeta(a.Path, a.New)
	}
	return fmt.Errorf("unknown op %v", a.Op)
}

// rename moves from (expected old) to the free name to and gives it
// meta's mode and mtime, if meta is present.
func (l *local) rename(w int, from, to string, old, meta core.Entry) error {
	if err := l.check(w, from, old); err != nil {
		return err
	}
	if err := l.root.Rename(from, to, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("rename %s to %s: %w (something appeared there)", from, to, errRaced)
		}
		return wrapOp("rename "+from+" to", to, err)
	}
	l.ex.touch(core.Parent(from))
	l.ex.touch(core.Parent(to))
	if meta.Present() {
		return l.setMeta(to, meta)
	}
	return nil
}

// mkdir makes the directory a.New, first removing the file or link it
// replaces. It is made writable by its owner until the run ends, so that
// what belongs in it can be written; its own mode is set then.
func (l *local) mkdir(w int, a core.Action) error {
	if err := l.check(w, a.Path, a.Old); err != nil {
		return err
	}
	if a.Old.Present() {
		if err := l.root.Remove(a.Path, 0); err != nil {
			return wrapOp("remove", a.Path, err)
		}
	}
	mode := uint32(a.New.Mode & core.PermMask)
	err := l.root.Mkdir(a.Path, 0o700)
	if errors.Is(err, unix.EEXIST) {
		if cur, cerr := l.current(w, a.Path); cerr == nil && cur.Kind == core.Dir {
			return nil // made meanwhile: the same result
		}
		return fmt.Errorf("mkdir %s: %w", a.Path, errRaced)
	}
	if err != nil {
		return wrapOp("mkdir", a.Path, err)
	}
	l.ex.touch(core.Parent(a.Path))
	if mode&0o700 != 0o700 {
		l.ex.deferMode(a.Path, mode)
		mode |= 0o700
	}
	return wrapOp("chmod", a.Path, l.root.SetAttrs(a.Path, rootfs.Attrs{SetMode: true, Mode: mode}))
}

// setMeta gives p e's mode (files, directories) and mtime (files).
func (l *local) setMeta(p string, e core.Entry) error {
	switch e.Kind {
	case core.File:
		mt := time.Unix(0, e.MTime)
		return wrapOp("set attributes of", p, l.root.SetAttrs(p, rootfs.Attrs{
			SetMode: true, Mode: uint32(e.Mode & core.PermMask), SetTimes: true, Atime: time.Now(), Mtime: mt}))
	case core.Dir:
		return wrapOp("chmod", p, l.root.SetAttrs(p, rootfs.Attrs{SetMode: true, Mode: uint32(e.Mode & core.PermMask)}))
	}
	return nil
}

// write makes a.Path hold a.New: a link, or a file downloaded from the
// server into a temporary file beside it (with the old local file as the
// delta base), synced, given its mode and mtime, checked against the
// plan's Old once more and renamed into place.
func (l *local) write(ctx context.Context, w int, a core.Action) error {
	if err := l.check(w, a.Path, a.Old); err != nil {
		return err
	}
	tmp := tempName(a.Path)
	switch a.New.Kind {
	case core.Symlink:
		if err := l.root.Symlink(a.New.Target, tmp); err != nil {
			return wrapOp("symlink", a.Path, err)
		}
	case core.File:
		if err := l.download(ctx, a, tmp); err != nil {
			_ = l.root.Remove(tmp, 0)
			return err
		}
	default:
		return fmt.Errorf("write %s: cannot write a %v", a.Path, a.New.Kind)
	}
	err := l.check(w, a.Path, a.Old)
	if err == nil {
		flags := uint(0)
		if !a.Old.Present() {
			flags = unix.RENAME_NOREPLACE
		}
		err = l.root.Rename(tmp, a.Path, flags)
		if errors.Is(err, unix.EEXIST) {
			err = fmt.Errorf("write %s: %w (something appeared there)", a.Path, errRaced)
		}
	}
	if err != nil {
		_ = l.root.Remove(tmp, 0)
		return wrapOp("rename into", a.Path, err)
	}
	l.ex.touch(core.Parent(a.Path))
	return nil
}

// download fetches a's file into the new temporary file tmp.
func (l *local) download(ctx context.Context, a core.Action, tmp string) error {
	f, err := l.root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600, false)
	if err != nil {
		return wrapOp("create", tmp, err)
	}
	defer f.Close()
	var base *os.File
	if a.Old.Kind == core.File {
		if b, err := l.root.OpenFile(a.Path, os.O_RDONLY, 0, false); err == nil {
			base = b
			defer b.Close()
		}
	}
	ts, err := l.ex.remote.Download(ctx, remotePath(l.ex.base, a.From), proto.Hash(a.New.Hash), base, f)
	l.ex.count(ts)
	if err != nil {
		return fmt.Errorf("download %s: %w", a.From, err)
	}
	if err := l.setMeta(tmp, a.New); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return wrapOp("sync", tmp, err)
	}
	return nil
}

// tempName returns a fresh temporary name in p's directory.
func tempName(p string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := core.TempPrefix + hex.EncodeToString(b[:])
	if d := core.Parent(p); d != "" {
		return d + "/" + name
	}
	return name
}

// wrapOp returns nil for nil, else "op p: err".
func wrapOp(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}
