package durable

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// Content makes files' content durable before they are renamed in: the
// sync server's uploads, the client's downloads.
//
// The plain way is an fsync of each file. On the bench disk here (ext4
// without a journal on a virtual disk) that was a quarter of a first sync
// of small files: each fsync writes the file's data, the block holding its
// inode (shared with 15 other inodes), for a new name its directory's
// blocks, and flushes the disk's cache, and concurrent fsyncs queue on the
// shared blocks. One syncfs(2) of the file system writes each block once
// and flushes once for every file that waits on it (a Group): uploading
// 10,000 files of 1-64 KiB took 3.6-3.8 s against 4.7-5.8 s.
//
// But syncfs writes back everything dirty on the file system, not only
// ours: beside a download of a few GiB every file would wait for all of
// it (why an earlier version of the server, which synced that way, went
// back to fsync).
// So a group syncs the file system only while the machine holds little
// dirty (Dirty and Writeback in /proc/meminfo, for all file systems, under
// groupDirtyMax); otherwise, or if anything about it fails, each file is
// fsynced on its own. A reading of little dirty stands for dirtyFresh: a
// first sync of 10,000 small files made about 3,500 groups, one after
// another, and reading /proc/meminfo for each (six system calls and the
// kernel's summing of every counter) lengthened every group's wait.
//
// Errors: syncfs reports a writeback error of its file system once per
// descriptor (an errseq, Linux 5.8 and later; before that it reports none,
// and groups are not used), without saying which file it hit; and a page
// whose writeback failed is clean afterwards, so a later syncfs would not
// see it again. So the caller opens the descriptor before it writes any
// of the files (when a session or a run starts), and every error since is
// reported to it; after one, every later file is fsynced on its own, and
// its own error record (sampled when the file was opened) still holds it.
// PostgreSQL's recovery_init_sync_method=syncfs rests on the same kernel
// behaviour.
type Content struct {
	fd    *os.File // a directory on the file system, for syncfs; nil: fsync only
	dirty func() (int64, error)
	now   func() time.Time
	// lowUntil: the last reading of dirty found little and stands until
	// then. Only group, which runs one call at a time, touches it.
	lowUntil time.Time
	log      *slog.Logger
	g        *Group      // the group commit, whose do is group
	broken   atomic.Bool // a group sync failed: fsync only from now on
}

// groupDirtyMax is how much may be dirty or under writeback on the machine
// for a group to sync the whole file system: a few seconds of writing on
// a slow disk at most, whoever else wrote it.
const groupDirtyMax = 64 << 20

// dirtyFresh is how long a reading under groupDirtyMax stands: a writer
// that dirties more meanwhile makes at most the groups of that time wait
// for its writeback.
const dirtyFresh = 50 * time.Millisecond

// errNoGroup: this group did not sync the file system; each member fsyncs
// its own file.
var errNoGroup = errors.New("no group sync")

// NewContent returns group syncs of the file system dir is on. dir must be
// opened before any of the files Sync will be asked for are written (see
// Content); nil, or a kernel whose syncfs reports no errors, means an
// fsync of each file. Content owns dir: Close closes it.
func NewContent(dir *os.File, log *slog.Logger) *Content {
	return newContent(dir, machineDirty, log)
}

// ForRoot returns group syncs of the file system root is on, over a
// descriptor of root's directory opened now: call it before any of the
// files it will sync is written. Without one (it cannot be opened), each
// file is fsynced on its own.
func ForRoot(root *rootfs.Root, log *slog.Logger) *Content {
	fd, err := root.OpenFile("", unix.O_RDONLY|unix.O_DIRECTORY, 0, false)
	if err != nil {
		log.Debug("files synced one by one", "err", err)
		fd = nil
	}
	return NewContent(fd, log)
}

func newContent(fd *os.File, dirty func() (int64, error), log *slog.Logger) *Content {
	c := &Content{dirty: dirty, now: time.Now, log: log}
	if fd != nil && syncfsReportsErrors(kernelRelease()) && groupable(fd) {
		c.fd = fd
	} else if fd != nil {
		fd.Close()
	}
	c.g = NewGroup(c.group)
	return c
}

// groupFS are the file systems whose syncfs writes back and waits for
// every dirty file and its metadata, and reports their writeback errors:
// local block file systems. Elsewhere it may do less than an fsync (FUSE
// without a syncfs handler answers success and syncs nothing), so each
// file is fsynced there.
var groupFS = []int64{unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC}

// groupable says whether dir is on one of groupFS.
func groupable(dir *os.File) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(int(dir.Fd()), &st) != nil {
		return false
	}
	return slices.Contains(groupFS, st.Type)
}

// Sync makes f's content and attributes durable: with the group's syncfs
// when it runs, else with an fsync of f.
func (c *Content) Sync(f *os.File) error {
	if c.fd != nil && !c.broken.Load() && c.g.Sync() == nil {
		return nil
	}
	return fsyncFile(f)
}

// fsyncFile is a file's own fsync, when no group syncs for it; tests wrap
// it.
var fsyncFile = (*os.File).Sync

// group is the group commit's do: syncfs, if little is dirty.
func (c *Content) group() error {
	if c.broken.Load() {
		return errNoGroup
	}
	if now := c.now(); !now.Before(c.lowUntil) {
		if n, err := c.dirty(); err != nil || n > groupDirtyMax {
			return errNoGroup
		}
		c.lowUntil = now.Add(dirtyFresh)
	}
	if err := syncfs(int(c.fd.Fd())); err != nil {
		c.broken.Store(true)
		c.log.Warn("group syncs stop: every file is synced on its own from now on", "err", fmt.Errorf("sync the file system: %w", err))
		return errNoGroup
	}
	return nil
}

// syncfs is the group's sync; tests wrap it.
var syncfs = unix.Syncfs

// Close releases the descriptor.
func (c *Content) Close() {
	if c.fd != nil {
		c.fd.Close()
	}
}

// machineDirty reads how many bytes are dirty or under writeback.
func machineDirty() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return parseDirty(b)
}

// parseDirty sums the Dirty and Writeback lines of /proc/meminfo (in kB).
func parseDirty(meminfo []byte) (int64, error) {
	var sum int64
	found := 0
	for line := range bytes.Lines(meminfo) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok || (string(name) != "Dirty" && string(name) != "Writeback") {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("read /proc/meminfo: bad line %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("read /proc/meminfo: bad line %q", bytes.TrimSpace(line))
		}
		sum += kb << 10
		found++
	}
	if found != 2 {
		return 0, errors.New("read /proc/meminfo: no Dirty and Writeback lines")
	}
	return sum, nil
}

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// syncfsReportsErrors says whether a kernel of this release (uname -r)
// reports writeback errors from syncfs: 5.8 and later.
func syncfsReportsErrors(release string) bool {
	major, rest, ok := strings.Cut(release, ".")
	if !ok {
		return false
	}
	minor := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = rest[:i]
	}
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > 5 || ma == 5 && mi >= 8
}
