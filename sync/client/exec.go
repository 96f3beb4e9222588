package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// executor carries out a plan on both sides: phase by phase (core.Op),
// both sides' actions of a phase at once, each side's writes many at a
// time, everything else in list order. An action that fails (most often a
// race: the path changed since the snapshot) is logged and left for the
// next run; the ones that succeeded are returned, with New as the side
// now holds it (a server may apply its umask).
type executor struct {
	ctx     context.Context
	l       *local
	rc      Remote
	base    string
	workers int
	log     *slog.Logger

	mu     sync.Mutex
	failed int
}

func (x *executor) run(p *core.Plan) (doneL, doneR []core.Action) {
	for phase := core.OpAside.Phase(); phase <= core.OpSetMeta.Phase(); phase++ {
		var wg sync.WaitGroup
		var dl, dr []core.Action
		wg.Add(2)
		go func() { defer wg.Done(); dl = x.phase(p.Local, phase, x.localAction) }()
		go func() { defer wg.Done(); dr = x.phase(p.Remote, phase, x.remoteAction) }()
		wg.Wait()
		doneL, doneR = append(doneL, dl...), append(doneR, dr...)
	}
	return doneL, doneR
}

// phase runs a side's actions of one phase; writes in parallel.
func (x *executor) phase(acts []core.Action, phase int, do func(core.Action) (core.Action, error)) []core.Action {
	var mine []core.Action
	for _, a := range acts {
		if a.Op.Phase() == phase {
			mine = append(mine, a)
		}
	}
	res := make([]*core.Action, len(mine))
	one := func(i int) {
		if x.ctx.Err() != nil {
			return
		}
		a, err := do(mine[i])
		if err != nil {
			x.mu.Lock()
			x.failed++
			x.mu.Unlock()
			x.log.Info("left for the next run", "action", mine[i].String(), "err", err)
			return
		}
		res[i] = &a
	}
	if phase == core.OpWrite.Phase() {
		sem := make(chan struct{}, x.workers)
		var wg sync.WaitGroup
		for i := range mine {
			sem <- struct{}{}
			wg.Add(1)
			go func() { defer func() { <-sem; wg.Done() }(); one(i) }()
		}
		wg.Wait()
	} else {
		for i := range mine {
			one(i)
		}
	}
	var out []core.Action
	for _, a := range res {
		if a != nil {
			out = append(out, *a)
		}
	}
	return out
}

// localAction carries out one action in the local folder.
func (x *executor) localAction(a core.Action) (core.Action, error) {
	l := x.l
	switch a.Op {
	case core.OpAside:
		if err := l.check(a.From, a.Old); err != nil {
			return a, err
		}
		return a, l.root.Rename(a.From, a.Path, unix.RENAME_NOREPLACE)
	case core.OpMkdir:
		if a.Old.Present() {
			if err := l.remove(a.Path, a.Old); err != nil {
				return a, err
			}
		}
		err := l.root.Mkdir(a.Path, uint32(a.New.Mode&core.PermMask))
		if errors.Is(err, unix.EEXIST) {
			if cur, serr := l.stat(a.Path); serr == nil && cur.Kind == core.Dir {
				a.New.Mode = cur.Mode
				return a, nil
			}
		}
		if err == nil {
			err = l.setMeta(a.Path, core.Entry{Kind: core.Dir, Mode: a.New.Mode})
		}
		return a, err
	case core.OpMove:
		if err := l.check(a.From, a.Old); err != nil {
			return a, err
		}
		if err := l.root.Rename(a.From, a.Path, unix.RENAME_NOREPLACE); err != nil {
			return a, err
		}
		return a, l.setMeta(a.Path, a.New)
	case core.OpRemove:
		return a, l.remove(a.Path, a.Old)
	case core.OpWrite:
		return a, x.download(a)
	case core.OpSetMeta:
		if err := l.check(a.Path, a.Old); err != nil {
			return a, err
		}
		return a, l.setMeta(a.Path, a.New)
	}
	return a, fmt.Errorf("unknown action %v", a.Op)
}

// download makes the local path hold a.New from the server's a.From.
func (x *executor) download(a core.Action) error {
	l := x.l
	tmp, err := l.tmpName()
	if err != nil {
		return err
	}
	if a.New.Kind == core.Symlink {
		if err := l.root.Symlink(a.New.Target, tmp); err != nil {
			return err
		}
		return l.replace(tmp, a.Path, a.Old)
	}
	f, err := l.root.OpenFile(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, false)
	if err != nil {
		return err
	}
	var base *os.File
	if a.Old.Kind == core.File {
		if base, err = l.open(a.Path); err != nil {
			base = nil
		}
	}
	_, err = x.rc.Download(x.ctx, remotePath(x.base, a.From), proto.Hash(a.New.Hash), base, f)
	if base != nil {
		base.Close()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.setMeta(tmp, a.New)
	}
	if err != nil {
		l.root.Remove(tmp, 0)
		return err
	}
	return l.replace(tmp, a.Path, a.Old)
}

// remoteAction carries out one action on the server.
func (x *executor) remoteAction(a core.Action) (core.Action, error) {
	ctx, rc := x.ctx, x.rc
	rp := func(p string) string { return remotePath(x.base, p) }
	switch a.Op {
	case core.OpAside:
		_, err := rc.Rename(ctx, rp(a.From), rp(a.Path), expect(a.Old), proto.Expect{})
		return a, err
	case core.OpMkdir:
		if a.Old.Present() {
			if err := rc.Delete(ctx, rp(a.Path), expect(a.Old)); err != nil {
				return a, err
			}
		}
		e, err := rc.Mkdir(ctx, rp(a.Path), uint32(a.New.Mode), a.New.MTime)
		if err == nil && e.Kind == proto.KindDir {
			a.New = fromProto(e)
		}
		return a, err
	case core.OpMove:
		e, err := rc.Rename(ctx, rp(a.From), rp(a.Path), expect(a.Old), proto.Expect{})
		if err != nil {
			return a, err
		}
		if fromProto(e).Mode != a.New.Mode || e.Mtime != a.New.MTime {
			e, err = rc.SetAttr(ctx, rp(a.Path), expect(a.Old), uint32(a.New.Mode), a.New.MTime)
		}
		a.New.Mode = fromProto(e).Mode
		return a, err
	case core.OpRemove:
		return a, rc.Delete(ctx, rp(a.Path), expect(a.Old))
	case core.OpWrite:
		if a.New.Kind == core.Symlink {
			_, err := rc.Symlink(ctx, rp(a.Path), a.New.Target, expect(a.Old))
			return a, err
		}
		f, err := x.l.open(a.From)
		if err != nil {
			return a, err
		}
		defer f.Close()
		tid, resume := transferID(rp(a.Path), a.New)
		e, _, err := rc.Upload(ctx, rp(a.Path), expect(a.Old), f, remote.UploadOptions{Transfer: tid, Resume: resume,
			Mode: uint32(a.New.Mode), Mtime: a.New.MTime, Size: a.New.Size, Hash: proto.Hash(a.New.Hash)})
		if err == nil {
			a.New.Mode = fromProto(e).Mode
		}
		return a, err
	case core.OpSetMeta:
		e, err := rc.SetAttr(ctx, rp(a.Path), expect(a.Old), uint32(a.New.Mode), a.New.MTime)
		if err == nil {
			a.New.Mode = fromProto(e).Mode
		}
		return a, err
	}
	return a, fmt.Errorf("unknown action %v", a.Op)
}

// resumeFrom is the size from which an upload is worth resuming: below it,
// waiting for the server's PutReady costs more than sending again.
const resumeFrom = 1 << 20

// transferID names the upload of content e to server path p. A large file
// gets an id derived from both, so that an upload cut by a dropped
// connection or a killed client continues where the server's synced
// temporary file ends, in the next run; a small one a random id.
func transferID(p string, e core.Entry) (proto.TransferID, bool) {
	var tid proto.TransferID
	if e.Size < resumeFrom {
		rand.Read(tid[:])
		return tid, false
	}
	h := sha256.New()
	h.Write([]byte("simplecloud-sync transfer v1\x00" + p + "\x00"))
	h.Write(e.Hash[:])
	copy(tid[:], h.Sum(nil))
	return tid, true
}
