// Package dirty is the server's oracle of changed directories: a fanotify
// group in the server's root parent, which lives as long as the server,
// remembers which directories changed since a stamp, so that a sync
// listing (in a connection child, stateless and running as the user) can
// report the files of the others from its scan index without a stat each
// (sync/scan Options.Oracle). Re-listing an unchanged tree of 100,000
// files otherwise spends most of its time in one fstatat per file.
//
// # What is recorded
//
// One group (FAN_CLASS_NOTIF, FAN_REPORT_DFID_NAME|FAN_REPORT_FID|
// FAN_REPORT_TARGET_FID) with FAN_MARK_FILESYSTEM marks on the file
// systems of the users' roots, for creates, deletes, renames, writes,
// truncates, metadata and attribute changes and close-after-write, on
// directories too. The parent never opens a user's file: events carry
// file handles. The Book keeps, per directory (fsid and handle, opaque),
// the generation of the last event naming it; generations count up from
// a random epoch per parent start. A loss raises the floor, before which
// everything counts as changed: a queue overflow, a read error, an event
// it cannot parse, a book grown past its cap (a user can make millions of
// directories), an event on a file that names no directory, a link made
// (see event), a file system's mark gone (unmounted: a volume closed and
// opened again). Without fanotify (no CAP_SYS_ADMIN, a file system without
// file handles: EXDEV, EOPNOTSUPP, ENODEV) there is no oracle and every
// listing stats every file, as before.
//
// # Why a clean directory's records can stand for the stat
//
// A file's entry (size, mtime, mode, inode, content) changes only by a
// write, truncate, chmod, utimes, xattr change or a rename or unlink of
// its name; fsnotify reports each with the directory the file is reached
// through (its dentry's parent at the time). fsnotify queues the event
// before the system call returns, so reading the queue until EAGAIN is a
// barrier: every change completed before a question is in the answer.
// A walk asks, before it opens anything, for the stamp now and which of
// the last index's directories changed since the last stamp; every stat
// of the walk comes after that stamp, so a change during the walk is a
// change since it for the next one, which then stats that directory.
// Each directory is checked on its own (still stat'ed itself, subdirectories
// recursed into) and only when its handle is the one the index recorded
// for its path (a directory swapped or moved in has another).
//
// What the oracle cannot see, and how it is covered:
//
//   - Hard links: a write through another name reports the other name's
//     directory. Records of files with more than one link are never
//     trusted; a link made to a file with one link is a loss (link(2)
//     changes the link count, which reports no directory, then creates
//     the new name, whose event names the same file: see event).
//   - Other file systems: only records on the root's file system (the
//     one marked, by the very handle the walk starts from) are trusted;
//     a directory on another is walked in full. Only local file system
//     types are marked (ext4, xfs, btrfs, tmpfs, f2fs): on NFS, CIFS,
//     FUSE or overlayfs changes made elsewhere raise no event here. A
//     mark that went away (the file system unmounted, as a volume closed
//     and opened again) is a loss when the next session finds it gone.
//   - Writes through a shared mmap never followed by close: no event.
//     A walk whose index's last full walk is older than an hour
//     (scan.FullWalkEvery) stats every file, and sees the mtime.
//   - Changes through a disconnected dentry (a file opened with
//     open_by_handle_at, which needs CAP_DAC_READ_SEARCH, or through an
//     NFS export of the file system): a write names no directory and is
//     a loss, but a chmod or utimes there looks like a link count change
//     of a file that is not then linked again, and is missed until the
//     hourly full walk. No user can do this; root can.
//   - Files whose hash is not in the index (being written, unstable,
//     unreadable, changed within the racy window) are stat'ed anyway.
//
// # Child and parent
//
// Each connection child has its own socket to the parent (see wire.go),
// set up when the parent starts it. A sync session, already running as
// the user, sends an O_PATH descriptor of the user's root to have its file
// system marked, then asks its questions with handles of directories it
// has open: it learns nothing of other users' directories. The parent
// treats every request as untrusted: sizes are bounded, a request it
// cannot decode ends the socket, and the answer is "all changed" whenever
// in doubt.
package dirty
