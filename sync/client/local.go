package client

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
	"simplecloud/sync/versions"
)

// errRaced marks an action left for the next run: the path is no longer
// in the state the plan was based on.
var errRaced = core.ErrRaced

// local is the client's folder: scanned through a strict rooted handle
// (no symbolic link followed), written through temporary files renamed
// into place, and everything the sync overwrites or deletes here kept in
// the folder's own .simplecloud/versions, as the server keeps its own: a
// sync never destroys the last copy of anything.
type local struct {
	dir   string
	root  *rootfs.Root
	mu    sync.Mutex // the scanner is not safe for concurrent use
	sc    *scan.Scanner
	store *versions.Store
	index scan.IndexStore // the scan index between runs (nil: none)
	// hasher is the folder's content hash: an encrypted folder's files
	// hash as their sealed copies do (sealedHasher).
	hasher scan.Hasher
	// lazy, for a plain folder, is the scanner's hasher (see lazy.go).
	lazy *lazyHasher

	tmu   sync.Mutex
	temps []string // download temporary files the scans passed (cleanTemps)

	stopped atomic.Bool // a scan under way is to end (localScan.stop)
}

// tmpDir holds downloads in progress in the local folder.
const tmpDir = core.StateDir + "/tmp"

// openLocal opens the folder dir, whose files hash with h (nil: the
// protocol's plain hash).
func openLocal(dir string, h scan.Hasher) (*local, error) {
	r, err := rootfs.Open(dir)
	if err != nil {
		return nil, err
	}
	strict := r.Strict()
	var lazy *lazyHasher
	if h == nil {
		lazy = &lazyHasher{Hasher: proto.PlainHasher{}}
		h = lazy
	}
	l := &local{dir: dir, root: strict, store: versions.Open(strict, versions.DefaultPolicy(), nil), hasher: h, lazy: lazy}
	l.sc = scan.New(strict, l.scanOptions())
	return l, nil
}

// scanOptions hash with the protocol's hash and leave out temporary files,
// noting the downloads' ones for cleanTemp.
func (l *local) scanOptions() scan.Options {
	return scan.Options{Hasher: l.hasher, Exclude: func(p string, dir bool) bool {
		name := core.Base(p)
		if !strings.HasPrefix(name, core.TempPrefix) {
			return false
		}
		if !dir && strings.HasPrefix(name, downloadPrefix) {
			l.tmu.Lock()
			l.temps = append(l.temps, p)
			l.tmu.Unlock()
		}
		return true
	}}
}

// downloadPrefix starts the name of a download's temporary file.
const downloadPrefix = core.TempPrefix + "get-"

func (l *local) close() { l.root.Close() }

// snapshot scans the folder. unknown gets the paths whose state is not
// known (files being written or unreadable, directories not listed): the
// run leaves them alone on both sides. hint is how many entries to expect
// (0: unknown, counted first, see count); grow, if set, is told the count
// every bigRun entries.
func (l *local) snapshot(unknown map[string]bool, hint int, grow func(int)) (core.Tree, scan.Summary, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if hint == 0 {
		hint = l.count()
		if grow != nil {
			grow(hint)
		}
	}
	var b core.Builder
	b.Grow(hint + hint/32) // within Build's slack (a 16th): no copy when the count is as last time
	n := 0
	sum, err := l.sc.WalkStored("", l.index, func(e *scan.Entry) error {
		if l.stopped.Load() {
			return errStopped
		}
		if n++; n%bigRun == 0 && grow != nil {
			grow(n)
		}
		ce, ok := fromScan(e)
		if !ok {
			unknown[e.Path] = true
		}
		return b.Add(e.Path, ce)
	})
	if err != nil {
		return core.Tree{}, sum, fmt.Errorf("scan %s: %w", l.dir, err)
	}
	for _, u := range sum.Unscanned {
		unknown[u.Path] = true
	}
	t, err := b.Build()
	if err != nil {
		return core.Tree{}, sum, fmt.Errorf("scan %s: %w", l.dir, err)
	}
	return t, sum, nil
}

// stat returns p's state now (absent when nothing is there).
func (l *local) stat(p string) (core.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok, err := l.sc.Stat(p, false)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !ok) {
		return core.Entry{}, nil
	}
	if err != nil {
		return core.Entry{}, err
	}
	ce, known := fromScan(&e)
	if !known {
		return core.Entry{}, fmt.Errorf("%s: %w (being written)", p, errRaced)
	}
	return ce, nil
}

// check fails with errRaced unless p is still old.
func (l *local) check(p string, old core.Entry) error {
	cur, err := l.stat(p)
	if err != nil {
		return err
	}
	if !old.Matches(cur) {
		return fmt.Errorf("%s: %w", p, errRaced)
	}
	return nil
}

// tmpBeside returns a fresh temporary name in p's directory: the rename
// into place stays within one directory (one across directories takes the
// file system's rename lock, on which many downloads at once queue).
func tmpBeside(p string) string {
	var b [12]byte
	rand.Read(b[:])
	return path.Join(core.Parent(p), downloadPrefix+hex.EncodeToString(b[:]))
}

// tmpName returns a fresh temporary name in the folder's state directory.
func (l *local) tmpName() (string, error) {
	for _, d := range []string{core.StateDir, tmpDir} {
		if err := l.root.Mkdir(d, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return "", err
		}
	}
	var b [12]byte
	rand.Read(b[:])
	return path.Join(tmpDir, core.TempPrefix+hex.EncodeToString(b[:])), nil
}

// replace puts the new entry tmp at p in place of old: old (checked) is
// kept as a version first, then tmp is renamed in without replacing
// anything that appeared meanwhile.
func (l *local) replace(tmp, p string, old core.Entry) error {
	var kept *versions.Version
	if old.Present() {
		if err := l.check(p, old); err != nil {
			l.root.Remove(tmp, 0)
			return err
		}
		v, err := l.store.Keep(p, time.Now())
		if err != nil {
			l.root.Remove(tmp, 0)
			return err
		}
		kept = &v
	}
	if err := l.root.Rename(tmp, p, unix.RENAME_NOREPLACE); err != nil {
		if kept != nil {
			l.store.Return(*kept)
		}
		l.root.Remove(tmp, 0)
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: %w", p, errRaced)
		}
		return err
	}
	return nil
}

// setMeta gives p the mode (not for links) and mtime of e.
func (l *local) setMeta(p string, e core.Entry) error {
	a := rootfs.Attrs{SetTimes: e.MTime != 0, Atime: time.Unix(0, e.MTime), Mtime: time.Unix(0, e.MTime)}
	if e.Kind != core.Symlink {
		a.SetMode, a.Mode = true, uint32(e.Mode&core.PermMask)
	}
	return l.root.LSetAttrs(p, a)
}

// remove removes p, expected to be old: a directory only when empty, a file
// or link into the versions.
func (l *local) remove(p string, old core.Entry) error {
	if old.Kind == core.Dir {
		if err := l.root.Remove(p, unix.AT_REMOVEDIR); err != nil {
			if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%s: %w (holds files that are not synced)", p, errRaced)
			}
			return err
		}
		return nil
	}
	if err := l.check(p, old); err != nil {
		return err
	}
	_, err := l.store.Keep(p, time.Now())
	return err
}

// open opens the regular file p for reading, following no link.
func (l *local) open(p string) (*os.File, error) {
	return l.root.OpenFile(p, unix.O_RDONLY|unix.O_NONBLOCK, 0, false)
}

// staleTemp is how long a temporary file in tmpDir goes unwritten before
// a run takes it for the leftover of an interrupted one and removes it: a
// download in progress writes to its file all the time, and a large one
// cut short waits there a day for a run to continue it.
const staleTemp = 24 * time.Hour

// cleanTemps removes the download temporary files beside their
// destinations that the scans since the last call passed and that were not
// written for staleTemp: what a killed client left (a failed download
// removes its own). It returns how many.
func (l *local) cleanTemps(now time.Time) int {
	l.tmu.Lock()
	temps := l.temps
	l.temps = nil
	l.tmu.Unlock()
	n := 0
	for _, p := range temps {
		st, err := l.root.Lstat(p)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && now.Sub(time.Unix(st.Mtim.Unix())) >= staleTemp {
			if l.root.Remove(p, 0) == nil {
				n++
			}
		}
	}
	return n
}

// cleanTemp removes the temporary files interrupted runs (a killed client,
// a crash) left in tmpDir, and returns how many.
func (l *local) cleanTemp(now time.Time) (int, error) {
	d, err := l.root.OpenDir(tmpDir)
	if errors.Is(err, unix.ENOENT) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("clean %s: %w", tmpDir, err)
	}
	defer d.Close()
	var names []string
	if err := d.ReadNames(make([]byte, 8192), func(name []byte, _ rootfs.DirentType) {
		if strings.HasPrefix(string(name), core.TempPrefix) {
			names = append(names, string(name))
		}
	}); err != nil {
		return 0, fmt.Errorf("clean %s: %w", tmpDir, err)
	}
	n := 0
	for _, name := range names {
		var st unix.Stat_t
		if d.Lstat(name, &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		if now.Sub(time.Unix(st.Mtim.Unix())) < staleTemp {
			continue
		}
		if err := l.root.Remove(path.Join(tmpDir, name), 0); err == nil {
			n++
		}
	}
	return n, nil
}
