// Package client will hold the sync client daemon. Today it holds the
// stream side of `simplecloud mount`: SSHFSArgs builds the sshfs command line
// that mounts a directory of a SimpleCloud server over SFTP. It imports only
// sync/core, sync/proto and internal packages.
package client
