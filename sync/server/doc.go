// Package server will hold the SSH server for the machine's own users:
// authentication against system users, privilege-separated session children
// and the SFTP subsystem. It imports sync/core and sync/proto.
package server
