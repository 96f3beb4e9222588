package syncd

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/durable"
	"simplecloud/sync/rootfs"
)

// dirSyncs makes changes of directory entries (a rename, a new or removed
// name) durable with an fsync of the directory, one group commit per
// directory. A file's own content is made durable before it is renamed
// in (durable.Content, session.content).
//
// With deferred (the client has proto.CapFlush), a change only marks its
// directory, and flush syncs every marked one at once: 10,000 uploads
// into 200 directories cost 200 directory fsyncs, not 10,000 waits.
type dirSyncs struct {
	root     *rootfs.Root
	deferred bool
	mu       sync.Mutex
	m        map[string]*dirSync
	dirty    map[string]bool
}

func newDirSyncs(root *rootfs.Root, deferred bool) *dirSyncs {
	return &dirSyncs{root: root, deferred: deferred, m: map[string]*dirSync{}, dirty: map[string]bool{}}
}

// dirSync is one directory's group commit.
type dirSync struct {
	g     *durable.Group
	users int // callers in sync (dirSyncs drops an unused one)
}

// changed makes the entry p durable in its directory now, or marks the
// directory for flush.
func (d *dirSyncs) changed(p string) error {
	if !d.deferred {
		return d.syncParent(p)
	}
	d.mu.Lock()
	d.dirty[core.Parent(p)] = true
	d.mu.Unlock()
	return nil
}

// flushWorkers is how many directories flush syncs at once: the journal
// commits them together.
const flushWorkers = 16

// flush syncs every directory marked since the last flush and returns the
// first error (the directories that failed stay marked).
func (d *dirSyncs) flush() error {
	d.mu.Lock()
	dirs := make([]string, 0, len(d.dirty))
	for dir := range d.dirty {
		dirs = append(dirs, dir)
	}
	clear(d.dirty)
	d.mu.Unlock()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		gone  bool
		next  = make(chan string)
	)
	for range min(flushWorkers, len(dirs)) {
		wg.Go(func() {
			for dir := range next {
				err := d.sync(dir)
				if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
					// Removed or moved away since: its removal is in its
					// parent (marked too), but entries made in it before a
					// move now live elsewhere. One sync of the whole file
					// system covers them, below.
					mu.Lock()
					gone = true
					mu.Unlock()
					continue
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					d.mu.Lock()
					d.dirty[dir] = true
					d.mu.Unlock()
				}
			}
		})
	}
	for _, dir := range dirs {
		next <- dir
	}
	close(next)
	wg.Wait()
	if gone && first == nil {
		first = d.syncAll()
	}
	return first
}

// syncAll syncs the whole file system the root is on.
func (d *dirSyncs) syncAll() error {
	f, err := d.root.OpenFile("", unix.O_RDONLY|unix.O_DIRECTORY, 0, false)
	if err != nil {
		return fmt.Errorf("sync the file system: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync the file system: %w", err)
	}
	return nil
}

// sync makes the entries of directory dir ("" is the root) durable.
func (d *dirSyncs) sync(dir string) error {
	d.mu.Lock()
	y := d.m[dir]
	if y == nil {
		y = &dirSync{g: durable.NewGroup(func() error { return fsyncDir(d.root, dir) })}
		d.m[dir] = y
	}
	y.users++
	d.mu.Unlock()
	err := y.g.Sync()
	d.mu.Lock()
	if y.users--; y.users == 0 {
		delete(d.m, dir)
	}
	d.mu.Unlock()
	return err
}

// syncParent makes the entry p durable in its directory.
func (d *dirSyncs) syncParent(p string) error { return d.sync(core.Parent(p)) }

func fsyncDir(root *rootfs.Root, dir string) error {
	f, err := root.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0, false)
	if err != nil {
		return fmt.Errorf("sync directory %q: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %q: %w", dir, err)
	}
	return nil
}
