package client

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
)

// New files are sent without being hashed first. The plan needs a local
// file's content hash only where it compares content: where the ancestor
// has the path (to tell a change from a touch, or a conflict), where the
// server has it (the same file, or a conflict), and to find moves (core's
// findMoves pairs a removed file with a new one by hash), which take a
// removal, and a side removes only what the ancestor has and the other
// side no longer holds as it was: locally lost paths for the server's
// removals, and the local removals' files are in the ancestor. So the
// snapshot leaves unread every file whose hash no cache holds
// (lazyHasher); once the listing is in, hashPending hashes those on the
// server or in the ancestor, and all of them if the folder lost a path
// of the ancestor's (lostAny) or the server takes no unhashed upload. The
// rest, new files with nothing to compare with, are uploaded unhashed:
// the server hashes what it receives anyway and answers with the hash
// (proto.CapUnhashed), which goes into the snapshot's record (FillHash)
// and so into the state, and into the file's hash cache (scan.Record);
// the upload checks by fstat that the file did not change while it was
// read (remote.Upload). An upload that fails leaves its record unhashed,
// which Settle never records (the server does not hold the path). This
// spares a first sync reading every file twice, and the first upload
// waiting for the whole folder to be hashed: 1.2-1.5 s of a first sync of
// 10,000 files and one of 1 GiB; a later run, the reading of what it adds.

// errUnhashed is lazyHasher's: the file was left unread.
var errUnhashed = errors.New("not hashed yet")

// lazyHasher is the local scanner's hasher of a plain folder: while
// deferring, a file the scanner would read (no valid cached hash) is left
// unread instead, an entry with errUnhashed that fromScan takes for a file
// whose hash is to come. Nothing is cached for it.
type lazyHasher struct {
	scan.Hasher
	deferring atomic.Bool
	deferred  atomic.Int64 // files left unread while deferring
}

// Defer is asked by the scanner before it opens a file to hash: while
// deferring, the file is left unopened (scan.Deferrer). Hash is the
// embedded hasher's, called only for a file Defer let through.
func (h *lazyHasher) Defer() error {
	if h.deferring.Load() {
		h.deferred.Add(1)
		return errUnhashed
	}
	return nil
}

// snapshotLazy is snapshot with the files no cache has a hash for left
// unhashed (zero: see above); lazy says whether it left any so (never in
// an encrypted folder, whose hashes are of the sealed files): a re-sync
// whose files all had cached hashes has nothing for hashPending to do.
func (l *local) snapshotLazy(unknown map[string]bool, hint int, grow func(int)) (t core.Tree, lazy bool, err error) {
	if l.lazy != nil {
		l.lazy.deferred.Store(0)
		l.lazy.deferring.Store(true)
		defer l.lazy.deferring.Store(false)
	}
	t, _, err = l.snapshot(unknown, hint, grow)
	return t, l.lazy != nil && l.lazy.deferred.Load() > 0, err
}

// pending reports whether e is a file whose hash is to come.
func pending(e core.Entry) bool { return e.Kind == core.File && e.Hash == (core.Digest{}) }

// hashPending hashes the unhashed files of t (the local snapshot) that the
// plan will compare: those whose path the server's snapshot rt or the
// ancestor has, or all of them if all (see above). A file that changed
// since the snapshot goes to unknown (left for the next run, see held).
func (l *local) hashPending(t, rt, ancestor core.Tree, all bool, unknown map[string]bool) {
	type file struct {
		p string
		e core.Entry
	}
	files := make(chan file, 64)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range hashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A scanner of its own: l.sc is one at a time.
			sc := scan.New(l.root, scan.Options{Hasher: l.lazy.Hasher, Workers: 1})
			for f := range files {
				p, want := f.p, f.e
				e, ok, err := sc.Stat(p, false)
				cur, known := fromScan(&e)
				if err == nil && ok && known && cur.Kind == core.File && cur.Size == want.Size && cur.MTime == want.MTime && t.FillHash(p, cur.Hash) {
					continue
				}
				mu.Lock()
				unknown[p] = true
				mu.Unlock()
			}
		}()
	}
	for p, e := range t.All() {
		if pending(e) && (all || rt.Lookup(p).Present() || ancestor.Lookup(p).Present()) {
			files <- file{p, e}
		}
	}
	close(files)
	wg.Wait()
}

// lostAny reports whether the local snapshot lacks a path of the ancestor
// or holds it as another kind: a removal the plan may pair with a new
// file as a move.
func lostAny(ancestor, local core.Tree) bool {
	j := 0
	for i := range ancestor.Len() {
		p, a := ancestor.At(i)
		for j < local.Len() {
			if q, _ := local.At(j); core.ComparePaths(q, p) >= 0 {
				break
			}
			j++
		}
		if j == local.Len() {
			return true
		}
		if q, e := local.At(j); q != p || e.Kind != a.Kind {
			return true
		}
	}
	return false
}

// hashWorkers is how many files hashPending reads at once.
const hashWorkers = 4

// unhashedUploads reports whether rc takes uploads without a hash.
func unhashedUploads(rc Remote) bool {
	u, ok := rc.(interface{ Unhashed() bool })
	return ok && u.Unhashed()
}

// uploadUnhashed sends the file a.From, not hashed yet, to the server's
// rp, and fills the hash the server answered into the record of the local
// snapshot lt that a.New is (FillHash): from there the new trees and the
// state get it.
func (x *executor) uploadUnhashed(a core.Action, rp string, lt core.Tree) (core.Action, error) {
	if a.Old.Present() {
		// Never planned (the server holds the path, so it was hashed).
		return a, fmt.Errorf("upload %s: unhashed, over a file of the server's", a.Path)
	}
	f, err := x.l.open(a.From)
	if err != nil {
		return a, err
	}
	defer f.Close()
	start := time.Now().UnixNano()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return a, fmt.Errorf("upload %s: %w", a.Path, err)
	}
	tid, resume := unhashedTransferID(rp, &st)
	e, _, err := x.rc.Upload(x.ctx, rp, expect(a.Old), f, remote.UploadOptions{Transfer: tid, Resume: resume,
		Mode: uint32(a.New.Mode), Mtime: a.New.MTime, Size: a.New.Size})
	if err != nil {
		return a, err
	}
	if !lt.FillHash(a.From, core.Digest(e.Hash)) {
		return a, fmt.Errorf("upload %s: the server answered no hash", a.Path)
	}
	// The hash cache gets it as if the scan had read the file (if it has
	// not changed since st and is not too recent to be trusted), so the
	// next run's scan does not read it either.
	scan.Record(f, x.l.hasher.Name(), e.Hash, &st, start, scan.DefaultRacyWindow)
	a.New.Mode = fromProto(e).Mode
	a.New.Hash = core.Digest(e.Hash)
	return a, nil
}

// unhashedTransferID is transferID for a file sent unhashed, whose fstat
// is st: named by the path and the file's identity (inode, size, mtime,
// ctime) rather than its content, so that a run after an interruption
// continues the upload only of the very file it began (any write to it
// sets its ctime).
func unhashedTransferID(p string, st *unix.Stat_t) (proto.TransferID, bool) {
	if st.Size < resumeFrom {
		return transferID(p, core.Entry{Size: st.Size})
	}
	var tid proto.TransferID
	h := sha256.New()
	h.Write([]byte("simplecloud-sync unhashed transfer v1\x00" + p + "\x00"))
	var b [40]byte
	binary.LittleEndian.PutUint64(b[0:], st.Dev)
	binary.LittleEndian.PutUint64(b[8:], st.Ino)
	binary.LittleEndian.PutUint64(b[16:], uint64(st.Size))
	binary.LittleEndian.PutUint64(b[24:], uint64(st.Mtim.Nano()))
	binary.LittleEndian.PutUint64(b[32:], uint64(st.Ctim.Nano()))
	h.Write(b[:])
	copy(tid[:], h.Sum(nil))
	return tid, true
}
