package watch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// Options configure a Watcher.
type Options struct {
	// Exclude leaves paths out: no watch, no events.
	Exclude func(path string, dir bool) bool
	// Quiet is how long a file modified but not closed must go without
	// writes before it is reported (default 2s).
	Quiet time.Duration
	// Coalesce is how long events gather into one batch (default 10ms).
	Coalesce time.Duration
	// RescanEvery is how often a directory that could not be watched is
	// reported as a Subtree (default 30s).
	RescanEvery time.Duration
	Logger      *slog.Logger
	// addWatch replaces inotify_add_watch in tests of the watch limit.
	addWatch func(fd int, path string, mask uint32) (int, error)
}

// Event is a path that may have changed.
type Event struct {
	Path    string // relative to the root, "" is the root
	Subtree bool   // everything at and below Path may have changed
}

// Watcher watches a directory tree below a root.
type Watcher struct {
	root   *rootfs.Root
	dir    string
	opt    Options
	fd     int
	wake   int // an eventfd that ends the reader
	out    chan []Event
	quit   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	err    error
	wds    map[int]string // watch descriptor -> directory
	byPath map[string]int
	// pending files were modified and not closed yet, with the time of
	// their last write.
	pending   map[string]time.Time
	unwatched map[string]bool
	warned    bool
}

// dirMask is what every directory is watched for.
const dirMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_MOVED_FROM |
	unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

// New watches dir ("" for the root) and everything below it.
func New(root *rootfs.Root, dir string, opt Options) (*Watcher, error) {
	if opt.Quiet <= 0 {
		opt.Quiet = 2 * time.Second
	}
	if opt.Coalesce <= 0 {
		opt.Coalesce = 10 * time.Millisecond
	}
	if opt.RescanEvery <= 0 {
		opt.RescanEvery = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.addWatch == nil {
		opt.addWatch = unix.InotifyAddWatch
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := &Watcher{root: root.Strict(), dir: strings.Trim(dir, "/"), opt: opt, fd: fd, wake: wake,
		out: make(chan []Event, 16), quit: make(chan struct{}), done: make(chan struct{}),
		wds: map[int]string{}, byPath: map[string]int{}, pending: map[string]time.Time{}, unwatched: map[string]bool{}}
	if err := w.addTree(w.dir); err != nil {
		w.closeFDs()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	raw := make(chan []rawEvent, 16)
	go w.read(raw)
	go w.loop(raw)
	return w, nil
}

// Events returns the batches of events. It is closed after Close or a
// fatal error (see Err).
func (w *Watcher) Events() <-chan []Event { return w.out }

// Err returns why the watcher stopped, nil while it runs or after Close.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close stops the watcher and releases its descriptors.
func (w *Watcher) Close() error {
	select {
	case <-w.quit:
	default:
		close(w.quit)
		var one = [8]byte{1}
		unix.Write(w.wake, one[:])
	}
	<-w.done
	return nil
}

func (w *Watcher) closeFDs() {
	unix.Close(w.fd)
	unix.Close(w.wake)
}

// excluded asks Options.Exclude.
func (w *Watcher) excluded(p string, dir bool) bool {
	return w.opt.Exclude != nil && p != w.dir && w.opt.Exclude(p, dir)
}

// addTree watches directory p and every directory below it.
func (w *Watcher) addTree(p string) error {
	if w.excluded(p, true) {
		return nil
	}
	f, err := w.root.OpenFile(p, unix.O_PATH|unix.O_DIRECTORY, 0, false)
	if err != nil {
		return err
	}
	wd, err := w.opt.addWatch(w.fd, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), dirMask)
	f.Close()
	if errors.Is(err, unix.ENOSPC) {
		w.limitReached(p)
		return nil
	}
	if err != nil {
		return err
	}
	if old, ok := w.byPath[p]; ok && old != wd {
		delete(w.wds, old)
	}
	w.wds[wd] = p
	w.byPath[p] = wd
	delete(w.unwatched, p)
	d, err := w.root.OpenDir(p)
	if err != nil {
		return nil // gone or replaced meanwhile: its parent's events tell
	}
	var subdirs []string
	err = d.ReadNames(make([]byte, 16<<10), func(name []byte, typ rootfs.DirentType) {
		n := string(name)
		if typ == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if d.Lstat(n, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				typ = unix.DT_DIR
			}
		}
		if typ == unix.DT_DIR {
			subdirs = append(subdirs, join(p, n))
		}
	})
	d.Close()
	if err != nil {
		return nil
	}
	for _, s := range subdirs {
		if err := w.addTree(s); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ELOOP) {
			return err
		}
	}
	return nil
}

// limitReached notes a directory that could not be watched, and says once
// what to do about it.
func (w *Watcher) limitReached(p string) {
	w.unwatched[p] = true
	if w.warned {
		return
	}
	w.warned = true
	cur := "?"
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches"); err == nil {
		cur = strings.TrimSpace(string(b))
	}
	w.opt.Logger.Warn("the inotify watch limit is reached: directories not watched are rescanned every "+
		w.opt.RescanEvery.String()+" instead; raise it with sysctl fs.inotify.max_user_watches=N "+
		"(and in /etc/sysctl.d/ to keep it)", "fs.inotify.max_user_watches", cur, "first", p)
}

// forget drops the watches of p and everything below it.
func (w *Watcher) forget(p string) {
	for q, wd := range w.byPath {
		if q == p || within(q, p) {
			unix.InotifyRmWatch(w.fd, uint32(wd))
			delete(w.byPath, q)
			delete(w.wds, wd)
		}
	}
	for q := range w.unwatched {
		if q == p || within(q, p) {
			delete(w.unwatched, q)
		}
	}
	for q := range w.pending {
		if q == p || within(q, p) {
			delete(w.pending, q)
		}
	}
}

// join joins a directory and a name ("" is the root).
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// within reports whether p lies below dir.
func within(p, dir string) bool {
	return dir == "" && p != "" || strings.HasPrefix(p, dir+"/")
}
