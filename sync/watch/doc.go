// Package watch reports changes below a directory with recursive inotify,
// for the sync server (changes made by anyone in a user's tree, pushed to
// clients at once) and the sync client (local changes sent within a
// second).
//
// Every directory is watched through a handle opened beneath the root
// with RESOLVE_NO_SYMLINKS (sync/rootfs), passed to inotify_add_watch as
// /proc/self/fd/N: a symbolic link is never followed, so nothing outside
// the tree is watched, even if a directory is swapped for a link. Events
// are reported as paths that may have changed (the consumer looks at them
// again) in batches, and a written file only once it is closed
// (IN_CLOSE_WRITE), or after Quiet without writes for a writer that keeps
// it open: never per write, so a half-written file is not sent. A new
// directory, and one moved in, is reported as a Subtree to walk, since
// files may appear in it before its watch is in place.
//
// When the kernel's event queue overflows, every watch is added again and
// the whole tree is reported as a Subtree. When the watch limit is reached
// (fs.inotify.max_user_watches), the watcher says so once, naming the
// setting and how to raise it, and reports each directory it could not
// watch as a Subtree every RescanEvery: a periodic rescan instead of
// silence.
//
// What inotify cannot see: changes made through another mount of the same
// file system, on network file systems by other machines, and writes
// through a shared memory mapping that is never closed.
//
// The package is written on golang.org/x/sys/unix rather than fsnotify:
// fsnotify (github.com/fsnotify/fsnotify) watches one directory, not a tree,
// resolves paths by name (following symbolic links) and cannot watch
// through a rooted handle, and it reports IN_CLOSE_WRITE only in recent
// versions; recursion, rename bookkeeping and the overflow rescan, which
// are the work here, would all be ours anyway.
package watch
