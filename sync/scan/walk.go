package scan

import (
	"errors"
	"log/slog"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// stateDir is the sync's own directory at the root, never scanned.
const stateDir = ".simplecloud"

// errChanged says a directory was replaced between its listing and its
// walk; the watcher's notice of the change leads to a rescan of it.
var errChanged = errors.New("directory replaced during the scan")

// DefaultRacyWindow is Options.RacyWindow's default: a file changed less
// than this before it is hashed gets no cached hash (see the package doc).
const DefaultRacyWindow = 2 * time.Second

// Scanner walks a tree below a root. It is not safe for concurrent use;
// a server or client runs one per tree and scans with it in turn. Within a
// walk it makes up to Options.Workers files' entries at once, while it
// lists the directories ahead of them and the callback takes those made
// (see report.go).
// It remembers, for its life, the file systems that refused the hash cache
// (ENOTSUP, EROFS, ...), so that it does not try every file of them again;
// a new Scanner tries again.
type Scanner struct {
	root    *rootfs.Root
	opt     Options
	log     *slog.Logger
	buf     []byte    // getdents buffer
	workers []*worker // workers[0] is the walker's and serves single entries; the rest the pool's
	sum     Summary
	ix      *Index    // the index of the walk under way, if any
	rep     *reporter // the walk under way's (see report)
	pool    *pool     // the walk under way's, nil with one worker
	free    chan []result

	// A directory's listing and entries are made in buffers that the
	// reporter hands back once the walk is done with them (freeItems,
	// free), and its names read through one kept for all (names, ends):
	// a walk allocates a directory only the paths it hands out. At
	// 100,000 files these buffers were 40 of the 64 MB a client's
	// re-sync allocated, and a collection every few hundred directories.
	freeItems chan []item
	names     []byte
	ends      []listed

	mu      sync.Mutex
	cacheNo map[uint64]string // file systems (st_dev) without the cache, and why
}

// worker makes entries; each is used by one goroutine at a time and has
// its own buffer and counts, added to the Scanner's at the end of a walk.
type worker struct {
	s       *Scanner
	xbuf    []byte // attribute read buffer
	sum     Summary
	xattrs  int        // attribute calls made, for the tests
	fresh   bool       // hash without the cache (Stat with fresh)
	trust   bool       // the known record may stand for the file's stat (see dirTrust)
	lostErr *PathError // the entry's state is unknown: for Unscanned
	known   *indexRec  // the index's record of the entry being made
	rec     indexRec   // what the next index records of it, when rec.remembered
}

// unscanned notes that the state of the entry being made is unknown.
func (w *worker) unscanned(p string, err error) {
	w.lostErr = &PathError{Path: p, Err: err}
}

// New returns a Scanner of the tree below root.
func New(root *rootfs.Root, opt Options) *Scanner {
	if opt.RacyWindow == 0 {
		opt.RacyWindow = DefaultRacyWindow
	}
	if opt.Workers <= 0 {
		opt.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scanner{
		root: root, opt: opt, log: log.With("component", "scan"),
		buf: make([]byte, 32<<10), cacheNo: map[uint64]string{}, free: make(chan []result, queued),
		freeItems: make(chan []item, queued),
	}
	// The walker's own, then the pool's (see report).
	n := opt.Workers + 1
	if opt.Workers == 1 {
		n = 1
	}
	for range n {
		s.workers = append(s.workers, &worker{s: s, xbuf: make([]byte, 256)})
	}
	return s
}

// begin starts the counts of a walk or stat.
func (s *Scanner) begin() {
	s.sum = Summary{}
	for _, w := range s.workers {
		w.sum = Summary{}
	}
}

// end adds the workers' counts to the walk's and returns them.
func (s *Scanner) end() Summary {
	for _, w := range s.workers {
		s.sum.Add(w.sum)
		w.sum = Summary{}
	}
	return s.sum
}

// one makes the entry name of d at p with worker 0, outside a chunk.
func (s *Scanner) one(d *rootfs.Dir, name, p string, typ rootfs.DirentType) (Entry, bool) {
	w := s.workers[0]
	e, ok := w.entry(d, name, p, typ)
	if w.lostErr != nil {
		s.sum.Unscanned = append(s.sum.Unscanned, *w.lostErr)
	}
	return e, ok
}

// Walk reports the entry p (a client path: "", "/" or "." is the root,
// which is itself not reported) and everything below it to fn, in byte
// order of the paths (Compare). Symbolic links are reported, never
// followed, also on the way to p. fn must not keep the *Entry it gets past
// its return (it is reused). fn's error stops the walk and is
// returned; every other problem is in the Summary: a directory that could
// not be read is in Unscanned and the walk goes on. p excluded or not
// existing reports nothing (and ENOENT as an error).
func (s *Scanner) Walk(p string, fn func(*Entry) error) (Summary, error) {
	return s.WalkIndexed(p, nil, fn)
}

// WalkIndexed is Walk with an index: files whose stat is the one ix
// remembers take their hash from it, and ix records the walk for the next
// one (see Index). The caller keeps one index per tree and path walked,
// calls ix.Finish after a walk without error, and keeps what it wrote.
func (s *Scanner) WalkIndexed(p string, ix *Index, fn func(*Entry) error) (Summary, error) {
	s.begin()
	if ix != nil && s.opt.Hasher != nil && ix.hasher == s.opt.Hasher.Name() {
		s.ix = ix
		defer func() { s.ix = nil }()
	}
	err := s.walk(p, fn)
	return s.end(), err
}

func (s *Scanner) walk(p string, fn func(*Entry) error) error {
	rel, err := clean(p)
	if err != nil {
		return err
	}
	if rel == "" {
		d, err := s.root.OpenDir("/")
		if err != nil {
			return err
		}
		return s.report(fn, func() error { return s.walkDir(d, "") }) // which closes d
	}
	parent, base := path.Split(rel)
	d, err := s.root.OpenDir("/" + parent)
	if err != nil {
		return err
	}
	defer d.Close()
	var st unix.Stat_t
	if err := d.Lstat(base, &st); err != nil {
		return &PathError{Path: rel, Err: err}
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if s.excluded(rel, isDir) {
		s.sum.Excluded++
		return nil
	}
	e, ok := s.one(d, base, rel, direntType(st.Mode))
	if ok {
		if err := fn(&e); err != nil {
			return err
		}
	}
	if ok && e.Kind == Dir {
		return s.report(fn, func() error { return s.walkSub(d, item{name: base, ino: e.Ino, sub: true}, rel) })
	}
	return nil
}

// Stat reports the single entry p as Walk would, without its subtree; a
// file is hashed unless its cached hash is valid, or always with fresh
// (for a path the caller knows just changed). ok is false for an excluded
// path, a fifo, socket or device.
func (s *Scanner) Stat(p string, fresh bool) (e Entry, ok bool, err error) {
	return s.stat(nil, p, fresh)
}

// StatIn is Stat with p's parent directory d already open (by the caller,
// from the Scanner's root): a caller asking about many paths in one
// directory opens it once.
func (s *Scanner) StatIn(d *rootfs.Dir, p string, fresh bool) (e Entry, ok bool, err error) {
	return s.stat(d, p, fresh)
}

// stat is Stat, in p's parent d if not nil.
func (s *Scanner) stat(d *rootfs.Dir, p string, fresh bool) (e Entry, ok bool, err error) {
	s.begin()
	defer s.end()
	rel, err := clean(p)
	if err != nil {
		return e, false, err
	}
	if rel == "" {
		return e, false, &PathError{Path: rel, Err: unix.EINVAL}
	}
	if d == nil {
		parent, _ := path.Split(rel)
		if d, err = s.root.OpenDir("/" + parent); err != nil {
			return e, false, err
		}
		defer d.Close()
	}
	base := path.Base(rel)
	var st unix.Stat_t
	if err := d.Lstat(base, &st); err != nil {
		return e, false, &PathError{Path: rel, Err: err}
	}
	if s.excluded(rel, st.Mode&unix.S_IFMT == unix.S_IFDIR) {
		return e, false, nil
	}
	s.workers[0].fresh = fresh
	e, ok = s.one(d, base, rel, direntType(st.Mode))
	s.workers[0].fresh = false
	return e, ok, nil
}

// Summary returns the counts of the last Walk or Stat.
func (s *Scanner) Summary() Summary { return s.sum }

// clean turns a client path into a root-relative one without leading
// slash ("" for the root), refusing NUL.
func clean(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", &PathError{Path: p, Err: unix.EINVAL}
	}
	return strings.TrimLeft(path.Clean("/"+p), "/"), nil
}

// excluded reports whether the entry rel is left out.
func (s *Scanner) excluded(rel string, dir bool) bool {
	if rel == stateDir || strings.HasPrefix(rel, stateDir+"/") {
		return true
	}
	return s.opt.Exclude != nil && s.opt.Exclude(rel, dir)
}

// item is one name of a directory listing: an entry, or (sub) the subtree
// of the directory name, which sorts as name+"/".
type item struct {
	name string
	path string // dir/name, of which name is the end
	ino  uint64 // for sub: the inode the directory entry was reported with
	typ  rootfs.DirentType
	sub  bool
	skip bool // for sub: the entry turned out not to be a directory
}

// keyAt returns the byte of it's sort key at i, or -1 past its end.
func (it *item) keyAt(i int) int {
	if i < len(it.name) {
		return int(it.name[i])
	}
	if i == len(it.name) && it.sub {
		return '/'
	}
	return -1
}

// compareItems orders items by their keys' bytes, which puts every path
// of a walk in byte order: a directory "a" comes before "a-b" and "a.txt",
// and its contents ("a/...") after them.
func compareItems(a, b item) int {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	for i := n; ; i++ {
		x, y := a.keyAt(i), b.keyAt(i)
		if x != y || x == -1 {
			return x - y
		}
	}
}

// Compare orders paths as a walk reports them: by their bytes.
func Compare(a, b string) int { return strings.Compare(a, b) }

// listed is one name of a directory as read: the end of its path in the
// listing's bytes, and its type.
type listed struct {
	end int
	typ rootfs.DirentType
}

// list reads directory d (at dir, "" for the root, else ending in "/"),
// leaves out what is excluded and returns its items in walk order, in
// items (emptied first).
//
// The paths of a directory's entries are made as one string, of which
// each item's path and name are parts: one allocation per directory, not
// two per entry (a name, then its path), and no more memory held, since
// whoever keeps an entry keeps its path, and the names are within them.
func (s *Scanner) list(d *rootfs.Dir, dir string, items []item) ([]item, error) {
	buf, ls := s.names[:0], s.ends[:0]
	err := d.ReadNames(s.buf, func(b []byte, typ rootfs.DirentType) {
		buf = append(append(buf, dir...), b...)
		ls = append(ls, listed{end: len(buf), typ: typ})
	})
	s.names, s.ends = buf, ls
	if err != nil {
		return nil, err
	}
	all := string(buf)
	items = slices.Grow(items[:0], len(ls)+len(ls)/8)
	start := 0
	for _, l := range ls {
		p := all[start:l.end]
		start = l.end
		name, typ := p[len(dir):], l.typ
		if typ == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if d.Lstat(name, &st) != nil {
				continue // gone since the listing
			}
			typ = direntType(st.Mode)
		}
		if s.excluded(p, typ == unix.DT_DIR) {
			s.sum.Excluded++
			continue
		}
		items = append(items, item{name: name, path: p, typ: typ})
		if typ == unix.DT_DIR {
			items = append(items, item{name: name, path: p, typ: typ, sub: true})
		}
	}
	slices.SortFunc(items, compareItems)
	return items, nil
}

func (s *Scanner) unscanned(p string, err error) {
	s.sum.Unscanned = append(s.sum.Unscanned, PathError{Path: p, Err: err})
}

// direntType converts a stat mode's type to getdents' DT_ value.
func direntType(mode uint32) rootfs.DirentType {
	return rootfs.DirentType((mode & unix.S_IFMT) >> 12)
}
