package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/durable"
	"simplecloud/sync/proto"
)

// executor carries out a plan on both sides: phase by phase (core.Op),
// both sides' actions of a phase at once, each side's many at a time
// (runPhase orders only what depends on each other), so that 10,000 new
// directories or deletes are not 10,000 round trips one after another. An action that fails (most often a
// race: the path changed since the snapshot) is logged and left for the
// next run; the plan keeps the ones that succeeded, with New's mode as
// the side now holds it (a server may apply its umask).
type executor struct {
	ctx     context.Context
	l       *local
	rc      Remote
	base    string
	workers int
	log     *slog.Logger
	content *durable.Content // downloads' content, before their renames

	mu           sync.Mutex
	failed       int
	tampered     []string               // paths whose server copy failed authentication
	dirModes     map[string]fs.FileMode // local directories' modes, set at the end (writable, openUp)
	looked       map[string]bool        // local directories openUp looked at
	ltree        core.Tree              // the local snapshot (uploadUnhashed)
	rtree        core.Tree              // the server's snapshot (remoteOpenUp)
	progress     *Progress              // counts written files, if set
	remoteLooked map[string]bool        // the server's directories remoteOpenUp looked at
	remoteDirs   map[string]core.Entry  // the server's directories, likewise (remoteWritable)
}

// run carries out the plan and keeps in it (core.Actions.Keep) only the
// actions that succeeded, with the modes the sides answered.
func (x *executor) run(p *core.Plan) {
	okL, okR := make([]bool, p.Local.Len()), make([]bool, p.Remote.Len())
	for phase := core.OpAside.Phase(); phase <= core.OpSetMeta.Phase(); phase++ {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); x.phase(&p.Local, okL, phase, x.localAction) }()
		go func() { defer wg.Done(); x.phase(&p.Remote, okR, phase, x.remoteAction) }()
		wg.Wait()
	}
	x.restrictDirs()
	p.Local.Keep(okL)
	p.Remote.Keep(okR)
}

// writable returns the mode a local directory the run makes or changes
// gets while the run goes on: mode, with the owner's rwx bits added if it
// lacks them, so that what the plan writes into it can be written by a
// user who is not root; the directory's own mode (recorded) is set at the
// end of the run by restrictDirs.
func (x *executor) writable(p string, mode fs.FileMode) fs.FileMode {
	mode &= core.PermMask
	if mode&0o700 == 0o700 {
		return mode
	}
	x.mu.Lock()
	if x.dirModes == nil {
		x.dirModes = map[string]fs.FileMode{}
	}
	x.dirModes[p] = mode
	x.mu.Unlock()
	return mode | 0o700
}

// remoteWritable is writable for a directory on the server: the user's
// server process needs the owner's rwx bits as much as a local one.
func (x *executor) remoteWritable(p string, e core.Entry) fs.FileMode {
	mode := e.Mode & core.PermMask
	if mode&0o700 == 0o700 {
		return mode
	}
	x.mu.Lock()
	if x.remoteDirs == nil {
		x.remoteDirs = map[string]core.Entry{}
	}
	x.remoteDirs[p] = e
	x.mu.Unlock()
	return mode | 0o700
}

// openUp makes an existing local directory that an action changes an
// entry of writable by its owner for the rest of the run, as writable
// does for the directories the run makes; restrictDirs gives it its mode
// back (unless the plan gave it another). It looks at each directory
// once a run.
func (x *executor) openUp(dir string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.looked == nil {
		x.looked = map[string]bool{}
	}
	if x.looked[dir] {
		return
	}
	x.looked[dir] = true
	name := dir
	if name == "" {
		name = "/"
	}
	st, err := x.l.root.Lstat(name)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o700 == 0o700 {
		return
	}
	mode := fs.FileMode(st.Mode) & core.PermMask
	if err := x.l.setMeta(dir, core.Entry{Kind: core.Dir, Mode: mode | 0o700}); err != nil {
		return // the action fails with the reason
	}
	if x.dirModes == nil {
		x.dirModes = map[string]fs.FileMode{}
	}
	if _, ok := x.dirModes[dir]; !ok {
		x.dirModes[dir] = mode
	}
}

// remoteOpenUp is openUp for a directory on the server, as the snapshot
// listed it: the user's server process needs the owner's bits as much.
func (x *executor) remoteOpenUp(dir string) {
	e := x.rtree.Lookup(dir)
	if dir == "" || e.Kind != core.Dir || e.Mode&0o700 == 0o700 {
		return
	}
	x.mu.Lock()
	if x.remoteLooked == nil {
		x.remoteLooked = map[string]bool{}
	}
	seen := x.remoteLooked[dir]
	x.remoteLooked[dir] = true
	x.mu.Unlock()
	if seen {
		return
	}
	mode := e.Mode & core.PermMask
	if _, err := x.rc.SetAttr(x.ctx, remotePath(x.base, dir), proto.Expect{Kind: proto.KindDir}, uint32(mode|0o700), e.MTime); err != nil {
		return // the action fails with the reason
	}
	x.mu.Lock()
	if x.remoteDirs == nil {
		x.remoteDirs = map[string]core.Entry{}
	}
	if _, ok := x.remoteDirs[dir]; !ok {
		x.remoteDirs[dir] = e
	}
	x.mu.Unlock()
}

// restrictDirs gives the directories writable and remoteWritable opened
// up their own modes, deepest first.
func (x *executor) restrictDirs() {
	fail := func(side, d string, err error) {
		x.mu.Lock()
		x.failed++
		x.mu.Unlock()
		x.log.Warn("could not set a directory's mode", "side", side, "dir", d, "err", err)
	}
	for _, d := range deepestFirst(x.dirModes) {
		if err := x.l.setMeta(d, core.Entry{Kind: core.Dir, Mode: x.dirModes[d]}); err != nil {
			fail("local", d, err)
		}
	}
	for _, d := range deepestFirst(x.remoteDirs) {
		e := x.remoteDirs[d]
		_, err := x.rc.SetAttr(x.ctx, remotePath(x.base, d), proto.Expect{Kind: proto.KindDir}, uint32(e.Mode&core.PermMask), e.MTime)
		if err != nil {
			fail("remote", d, err)
		}
	}
}

// deepestFirst returns m's keys, a directory after everything below it.
func deepestFirst[V any](m map[string]V) []string {
	dirs := make([]string, 0, len(m))
	for d := range m {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool { return core.ComparePaths(dirs[i], dirs[j]) > 0 })
	return dirs
}

// phase runs a side's actions of one phase, up to x.workers at once (a
// directory's mkdir before its children's, a directory's removal after
// its children's: see runPhase), each made an Action only while it runs.
// What the side answered about a done action's New (its mode) is recorded
// in acts, and ok marks those that succeeded. The plan lists a side's
// actions by phase, so a phase is one stretch of acts (more than one
// would run one after the other).
func (x *executor) phase(acts *core.Actions, ok []bool, phase int, do func(core.Action) (core.Action, error)) {
	for lo := 0; lo < acts.Len(); {
		if acts.Op(lo).Phase() != phase {
			lo++
			continue
		}
		hi := lo
		for hi < acts.Len() && acts.Op(hi).Phase() == phase {
			hi++
		}
		x.stretch(acts, lo, hi, ok[lo:hi], do)
		lo = hi
	}
}

// stretch runs the actions lo to hi of one phase (see phase).
func (x *executor) stretch(acts *core.Actions, lo, hi int, ok []bool, do func(core.Action) (core.Action, error)) {
	at := func(i int) core.Action { return acts.At(lo + i) }
	errs := runPhase(x.ctx, hi-lo, at, x.workers, func(i int) error {
		a, err := do(at(i))
		if err == nil {
			acts.SetMode(lo+i, a.New.Mode)
			if a.Op == core.OpWrite {
				x.progress.fileDone()
			}
		}
		return err
	})
	for i := range ok {
		ok[i] = errs[i] == nil
	}
	for i, err := range errs {
		a := at(i)
		x.mu.Lock()
		x.failed++
		if errors.Is(err, ErrTampered) {
			x.tampered = append(x.tampered, a.Path)
			x.log.Error("refused the server's copy", "path", a.Path, "err", err)
		}
		x.mu.Unlock()
		if !errors.Is(err, errDependency) {
			x.log.Info("left for the next run", "action", a.String(), "err", err)
		}
	}
}

// localAction carries out one action in the local folder.
func (x *executor) localAction(a core.Action) (core.Action, error) {
	l := x.l
	x.openUp(core.Parent(a.Path))
	if a.From != "" {
		x.openUp(core.Parent(a.From))
	}
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
		err := l.root.Mkdir(a.Path, uint32(x.writable(a.Path, a.New.Mode)))
		if errors.Is(err, unix.EEXIST) {
			if cur, serr := l.stat(a.Path); serr == nil && cur.Kind == core.Dir {
				a.New.Mode = cur.Mode
				return a, nil
			}
		}
		if err == nil {
			err = l.setMeta(a.Path, core.Entry{Kind: core.Dir, Mode: x.writable(a.Path, a.New.Mode)})
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
		e := a.New
		if e.Kind == core.Dir {
			e.Mode = x.writable(a.Path, e.Mode)
		}
		return a, l.setMeta(a.Path, e)
	}
	return a, fmt.Errorf("unknown action %v", a.Op)
}

// download makes the local path hold a.New from the server's a.From.
func (x *executor) download(a core.Action) error {
	l := x.l
	tmp := tmpBeside(a.Path)
	var err error
	if a.New.Kind == core.Symlink {
		if err := l.root.Symlink(a.New.Target, tmp); err != nil {
			return err
		}
		return l.replace(tmp, a.Path, a.Old)
	}
	keep := false // a large download cut short stays for the next run
	var f *os.File
	if a.New.Size >= resumeFrom {
		if _, err = l.tmpName(); err != nil { // makes tmpDir
			return err
		}
		tmp = path.Join(tmpDir, downloadTemp(a.From, a.New))
		if f, err = l.root.OpenFile(tmp, unix.O_RDWR|unix.O_CREAT, 0o600, false); err != nil {
			return err
		}
		// One run at a time continues a download (two clients of one
		// folder would write it together).
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w (downloaded by another run)", a.Path, errRaced)
		}
		keep = true
	} else if f, err = l.root.OpenFile(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, false); err != nil {
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
		err = x.content.Sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.setMeta(tmp, a.New)
	}
	if err != nil {
		if !keep || errors.Is(err, remote.ErrChanged) || errors.Is(err, ErrTampered) {
			l.root.Remove(tmp, 0)
		}
		return err
	}
	return l.replace(tmp, a.Path, a.Old)
}

// downloadTemp names the temporary file of a large download in tmpDir by
// the server path and the content, so that a run after an interruption (a
// dropped connection, a killed client) continues it where it ends.
func downloadTemp(from string, e core.Entry) string {
	h := sha256.New()
	h.Write([]byte("simplecloud-sync download v1\x00" + from + "\x00"))
	h.Write(e.Hash[:])
	return core.TempPrefix + "get-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// remoteAction carries out one action on the server.
func (x *executor) remoteAction(a core.Action) (core.Action, error) {
	ctx, rc := x.ctx, x.rc
	rp := func(p string) string { return remotePath(x.base, p) }
	x.remoteOpenUp(core.Parent(a.Path))
	if a.From != "" {
		x.remoteOpenUp(core.Parent(a.From))
	}
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
		mode := x.remoteWritable(a.Path, a.New)
		e, err := rc.Mkdir(ctx, rp(a.Path), uint32(mode), a.New.MTime)
		if err == nil && e.Kind == proto.KindDir {
			want := a.New.Mode & core.PermMask
			a.New = fromProto(e)
			if mode != want {
				a.New.Mode = want // set by restrictDirs at the end
			}
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
		if pending(a.New) {
			return x.uploadUnhashed(a, rp(a.Path), x.ltree)
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
		mode := a.New.Mode & core.PermMask
		if a.New.Kind == core.Dir {
			mode = x.remoteWritable(a.Path, a.New)
		}
		e, err := rc.SetAttr(ctx, rp(a.Path), expect(a.Old), uint32(mode), a.New.MTime)
		if err == nil && mode == a.New.Mode&core.PermMask {
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
