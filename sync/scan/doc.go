// Package scan walks a directory tree through sync/rootfs and reports each
// file, directory and symbolic link with its metadata and, for files, a
// content hash, for the sync's server (the user's tree, in the connection
// child running as the user) and client (the local folder) alike.
//
// # Walking
//
// Every directory is opened relative to its parent's handle, one name at a
// time, with openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS (rootfs.Dir): a
// symbolic link is reported as a link with its target as stored and never
// followed, and a directory replaced by a link during the walk cannot be
// entered. Entries come in byte order of their paths ("a", "a-b", "a/x"),
// so that sorted streams from both sides and the ancestor merge with a
// plain string comparison. To sort, the scanner holds one directory's
// names at a time along the current path (about 40 bytes per name), and
// those of the few directories whose entries wait for the callback, never
// the tree; the caller decides what to keep of each Entry. The callback
// runs on the caller's goroutine while the walk goes on ahead of it (see
// report.go). Fifos, sockets and devices are counted, not reported. A directory that cannot be read
// is listed in Summary.Unscanned and the walk goes on: the caller must not
// take anything below it as deleted. ".simplecloud" at the root is never
// scanned.
//
// # Hash cache
//
// A file's hash is cached in its extended attribute user.sc.hash (see
// record; 64 bytes, which ext4 keeps inside the inode), with a tag of the
// hasher's name, the size, mtime (ns) and inode it was computed for, and
// the time W read just before the attribute was set (whole ms, rounded
// down). A cached hash is used only if the tag, size, mtime and inode
// match and the file's ctime is at most W+10ms. ctime cannot be stored as
// it is, since setting the attribute sets it; but every change of content, size or
// mtime (write, truncate, utimes: also "touch -d" setting an old mtime back
// after a same-size rewrite) sets ctime to the current time, so any such
// change made after W+10ms leaves a ctime past the limit. When storing, the
// stat after the write must show the attribute's own ctime within the limit
// and nothing else changed, or the record is taken off again.
//
// Reading is bracketed by two fstats of the open file: if size, mtime or
// ctime moved, the file was being written; it is reported Unstable (the
// caller scans it again later) and nothing is cached. As in Git's "racy"
// index entries, a hash is not cached when the file changed less than
// Options.RacyWindow (2 s) before reading began: a second write in the same
// clock tick (the same second on file systems that keep whole seconds)
// would leave both timestamps as they were, invisible to the fstats.
//
// What can still be missed, and why it is named rather than excluded: a
// rewrite of the same inode to the same size that also sets mtime back to
// the exact nanosecond it had, finished between the end of the read and
// W+10ms (plus one timer tick on file systems with coarse timestamps, up to
// a second on ones that keep whole seconds). Such a change gets a ctime the
// record accepts, or has its ctime overwritten by the attribute write. No
// editor, download or sync tool writes like that in practice (only
// utimensat with a copied mtime does, as in cp -p or tar over a same-size
// file), and the server's watcher, which sees the write, asks for a fresh
// hash with Stat(p, true). Also outside the scheme: a system clock set
// back (records written "in the future" are refused, but once the clock
// has passed W again a change made in between looks old), and file systems
// that do not keep ctime (some FUSE ones).
//
// A file with a valid cached hash costs an lstat and one attribute read by
// name (getxattrat), without being opened: a warm scan is two system calls
// per file, a cold one opens, reads and hashes every file.
//
// # Index
//
// A caller that walks the same tree again and again (the client each run,
// the server each listing) may keep an Index between walks (WalkStored):
// a file whose device, inode, size, mtime and ctime are exactly those the
// index recorded takes its hash from there, without the attribute read,
// which costs as much as the lstat. It trusts nothing the attribute cache
// does not: a hash is recorded only with a ctime older than RacyWindow or
// the attribute's own write, so that a later change shows another ctime.
//
// With an Oracle (the server's, sync/dirty) a walk goes further: before
// it begins it asks which of the last index's directories changed since
// the index's stamp, and lists the files of an unchanged one (the same
// directory by its file handle, on the root's file system) from the
// index without a stat, getdents alone. Only files with one link, on the
// root's file system and with a hash in the index are so trusted; the
// directories themselves are stat'ed and recursed into as ever, and the
// index's last full walk (every file stat'ed) is at most FullWalkEvery old.
// The index keeps the stamp, and its directories' handles, for the next
// walk; an unchanged index gets the new stamp written in place. The
// reasoning is in sync/dirty's package doc.
//
// Without xattr support (ENOTSUP, a read-only file system, a full disk)
// the scanner works without the cache and stops trying on that file
// system for its life; a file the user may not set attributes on (a
// read-only file: EACCES) is hashed on every scan.
package scan
