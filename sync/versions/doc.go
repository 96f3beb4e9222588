// Package versions keeps the files that sync replaces or deletes on the
// server, as plain files under the user's root in .simplecloud/versions/,
// with no database: a version's name says which path it was and when it was
// kept (Syncthing's layout: "dir/name~20261205-031500.ext", UTC), so the
// store survives restarts and can be browsed, copied or cleaned by hand.
//
// Keeping is a rename(2) within the user's file system (nothing is copied;
// the inode keeps its mode, mtime and content), or a hard link when the
// original must stay in place until a new file is renamed over it. Every
// lookup goes through a strict sync/rootfs Root: nothing outside the user's
// root is reached and no symbolic link is followed, in the user's tree or in
// the store. The store runs as the user, in the SSH server's connection child.
//
// Prune applies Syncthing's staggered schedule (every version for an hour,
// one an hour for a day, one a day for 30 days, one a week after that) and
// then a cap on the store's total size, oldest first. Names that do not
// parse as versions are never touched.
package versions
