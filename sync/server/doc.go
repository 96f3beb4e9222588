// Package server is the SSH server for the machine's own users.
//
// The root parent process (Server) accepts connections, authenticates users
// against the system's accounts and their ~/.ssh/authorized_keys, and for
// every session channel that asks for the sftp subsystem starts a child
// process (the same binary, re-executed) with the user's uid, gid and
// supplementary groups. The parent only copies the channel's bytes to and
// from the child over an inherited socket; it never opens user files. The
// child (ServeSFTP) serves SFTP from a directory handle, resolving every
// path with openat2(RESOLVE_BENEATH), so that "..", absolute paths and
// symbolic links cannot leave the user's root.
package server
