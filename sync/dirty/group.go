package dirty

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// watchMask is what a mark reports: every change of a directory's listing
// or of an entry's content or metadata, on directories too (FAN_ONDIR).
// FAN_DELETE_SELF is there to tell an unlink's link count change (which
// names no directory, see event) from a link's.
const watchMask = unix.FAN_CREATE | unix.FAN_DELETE | unix.FAN_MOVED_FROM | unix.FAN_MOVED_TO |
	unix.FAN_MODIFY | unix.FAN_ATTRIB | unix.FAN_CLOSE_WRITE | unix.FAN_DELETE_SELF | unix.FAN_ONDIR

// gatherPause is how long the background drain lets events gather.
const gatherPause = 50 * time.Millisecond

// maxFilesystems bounds the file systems a Group marks: each child asks
// for its user's root's, and a user could bind-mount many (in a user
// namespace) to make the parent hold marks.
const maxFilesystems = 64

// Group is the server's fanotify group: marks on the file systems of the
// users' roots and the Book of what changed on them. Its methods are safe
// for concurrent use.
type Group struct {
	fd  int
	log *slog.Logger

	mu    sync.Mutex
	book  *Book
	marks map[uint64]bool // devices of the file systems marked

	refusedDevs map[uint64]bool // file systems that refused a mark, logged once
	buf         []byte
	stop        chan struct{}
	done        chan struct{}
}

// Open makes the group (it needs CAP_SYS_ADMIN) with a new random epoch
// and starts draining its queue in the background, so that a busy file
// system overflows it less often. maxDirs bounds the Book (0: default).
func Open(maxDirs int, log *slog.Logger) (*Group, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|
		unix.FAN_REPORT_DFID_NAME|unix.FAN_REPORT_FID|unix.FAN_REPORT_TARGET_FID, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var e [8]byte
	rand.Read(e[:])
	g := &Group{fd: fd, log: log, book: NewBook(binary.LittleEndian.Uint64(e[:]), maxDirs),
		marks: map[uint64]bool{}, refusedDevs: map[uint64]bool{}, buf: make([]byte, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go g.follow()
	return g, nil
}

// Close stops the group.
func (g *Group) Close() error {
	close(g.stop)
	<-g.done
	return unix.Close(g.fd)
}

// follow drains the queue whenever it has events, until Close.
func (g *Group) follow() {
	defer close(g.done)
	fds := []unix.PollFd{{Fd: int32(g.fd), Events: unix.POLLIN}}
	for {
		select {
		case <-g.stop:
			return
		default:
		}
		// A timeout, not a wake-up descriptor: Close waits at most this.
		n, err := unix.Poll(fds, 200)
		if err != nil && !errors.Is(err, unix.EINTR) {
			g.log.Warn("fanotify poll", "err", err)
			return
		}
		if n > 0 {
			// Let events gather: one read then carries hundreds, not
			// one, which cost 27 us a file created where a busy file
			// system wakes the loop per event. Questions drain for
			// themselves, so this does not delay an answer; the
			// queue (16,384 events, merged) outlasts the pause.
			time.Sleep(gatherPause)
			g.mu.Lock()
			g.drain()
			g.mu.Unlock()
		}
	}
}

// Mark has the group watch the whole file system of fd (a directory, by
// any descriptor, O_PATH too) and returns its fsid. Only local file
// systems of known types are marked (localFS): on a network or stacked
// one, changes made elsewhere raise no event here. File systems that
// cannot report file handles refuse (EXDEV, EOPNOTSUPP, ENODEV).
func (g *Group) Mark(fd int) ([2]int32, error) {
	var sfs unix.Statfs_t
	var st unix.Stat_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return [2]int32{}, fmt.Errorf("statfs: %w", err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		return [2]int32{}, fmt.Errorf("stat: %w", err)
	}
	fsid := sfs.Fsid.Val
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fsid, errors.New("mark file system: not a directory")
	}
	if !localFS[sfs.Type] {
		return fsid, fmt.Errorf("mark file system: type %#x is not one known to be local", sfs.Type)
	}
	g.mu.Lock()
	if g.marks[st.Dev] {
		if g.alive(st.Dev) {
			g.mu.Unlock()
			return fsid, nil
		}
		// Unmounted since (a volume closed and opened again): what
		// changed in between went unseen.
		g.log.Info("fanotify mark gone: everything counts as changed", "dev", st.Dev)
		g.book.Lost()
		delete(g.marks, st.Dev)
	}
	n := len(g.marks)
	g.mu.Unlock()
	if n >= maxFilesystems {
		return fsid, fmt.Errorf("mark file system: %d are marked already", n)
	}
	// Without the lock: marking may wait on the file system. Relative to
	// fd: a NULL path would need a descriptor that is not O_PATH.
	if err := unix.FanotifyMark(g.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, watchMask, fd, "."); err != nil {
		g.refused(st.Dev, err)
		return fsid, fmt.Errorf("mark file system: %w", err)
	}
	g.mu.Lock()
	g.marks[st.Dev] = true
	g.mu.Unlock()
	return fsid, nil
}

// refused logs, once per file system, that it could not be marked.
func (g *Group) refused(dev uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.refusedDevs[dev] && len(g.refusedDevs) < maxFilesystems {
		g.refusedDevs[dev] = true
		g.log.Info("no changed-directory oracle on this file system: listings stat every file",
			"dev", fmt.Sprintf("%d:%d", unix.Major(dev), unix.Minor(dev)), "err", err)
	}
}

// localFS are the file system types (statfs f_type) the group marks:
// local ones, where every change goes through this kernel's VFS.
var localFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:  true, // also ext2 and ext3
	unix.XFS_SUPER_MAGIC:   true,
	unix.BTRFS_SUPER_MAGIC: true,
	unix.TMPFS_MAGIC:       true,
	unix.F2FS_SUPER_MAGIC:  true,
}

// alive reports whether the group still has a mark on the file system
// whose device is dev: the kernel drops a file system's marks when it is
// unmounted, silently. The group's fdinfo lists its marks.
func (g *Group) alive(dev uint64) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", g.fd))
	if err != nil {
		return false
	}
	// The kernel's dev_t: 12 bits of major, 20 of minor.
	want := fmt.Sprintf("sdev:%x ", unix.Major(dev)<<20|unix.Minor(dev))
	return strings.Contains(string(b), want)
}

// Changed drains the queue, which is a barrier (fsnotify queues an event
// before the system call that caused it returns), then answers Book.Changed
// for the handles of directories on the file system fsid, and the stamp now.
func (g *Group) Changed(since Stamp, fsid [2]int32, handles [][]byte) (Stamp, []bool) {
	keys := make([][]byte, len(handles))
	for i, h := range handles {
		keys[i] = key(fsid, h)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.drain()
	return g.book.Now(), g.book.Changed(since, keys)
}

// key is a Book key: the fsid, then a handle (its type, 4 bytes, and its
// bytes), as a handle's info record carries them.
func key(fsid [2]int32, handle []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(fsid[0]))
	b = binary.NativeEndian.AppendUint32(b, uint32(fsid[1]))
	return append(b, handle...)
}

// drain reads the queue until it is empty; called with mu held.
func (g *Group) drain() {
	for {
		n, err := unix.Read(g.fd, g.buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return
		}
		if err != nil || n <= 0 {
			g.log.Warn("fanotify read: everything counts as changed", "n", n, "err", err)
			g.book.Lost()
			return
		}
		parse(g.buf[:n], g.book)
	}
}
