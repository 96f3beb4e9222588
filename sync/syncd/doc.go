// Package syncd is the server side of the sync protocol (sync/proto,
// PROTOCOL.md) over any byte stream: sync/server runs it for the SSH
// subsystem "simplecloud-sync" in the connection child, already as the
// user, as sync/sftpd serves SFTP. It keeps no state of its own: every answer
// comes from the file system, content hashes from sync/scan's extended
// attribute cache, replaced and deleted files go to sync/versions.
//
// Every path goes through a strict sync/rootfs Root (openat2 with
// RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS): nothing outside the user's root
// is reached, and no symbolic link is followed, on the way or at the end;
// links are listed and written as links. ".simplecloud" at the root (the
// version store, uploads in progress) is neither listed nor writable.
//
// Compare-and-swap: a change names the state it is based on (proto.Expect).
// A file about to be replaced or deleted is first checked, then moved into
// the version store, and the moved inode checked again (same inode, size
// and mtime as the checked one); on a mismatch it is moved back and the
// answer is a conflict with the current state. New content is renamed in
// with RENAME_NOREPLACE, so a file that appeared meanwhile is never
// overwritten. Every replaced or deleted content is at its path or in the
// store.
//
// A List may carry the client's digests of the directories of its last
// agreed state (digest.go): a directory whose entries are still those is
// answered by its number, so re-listing an unchanged tree sends almost
// nothing.
//
// Sealed (zero-knowledge) folders, whose root holds the key marker, are
// served the same way without the key: their files are hashed by their
// records (format.go), for every request, so versions, pushes, conflicts
// and compare-and-swap work on ciphertext.
package syncd
