// Package sftpd is the SFTP version 3 server of stream mode (with OpenSSH's
// extensions), written on top of the rooted file layer of sync/rootfs. It
// knows nothing of SSH: it serves one session over any byte stream.
//
// It replaces pkg/sftp's request server, which cannot give the semantics
// sshfs relies on (issue 14): its packet manager runs reads and writes on 8
// workers and everything else on another, so an FSTAT or FSETSTAT overtakes
// earlier WRITEs on the same handle; it turns FSTAT and FSETSTAT into
// operations on the path the handle was opened with, not on the open file;
// it ignores the mode sent with OPEN and MKDIR; it reports atime as mtime;
// and it lists directories without "." and "..". Here every request on a
// handle acts on the open descriptor, and requests on one handle complete in
// the order received (see Dispatcher), while different handles and path
// requests proceed in parallel.
//
// The wire codec is the package's own (codec.go, packet.go, attrs.go) rather
// than pkg/sftp's: pkg/sftp keeps its packet types unexported and its newer
// encoder under internal/, so neither can be imported, and the v3 format is
// small enough that a codec with explicit bounds (no length read from the
// wire is trusted for an allocation) is shorter than an adapter would be.
//
// Status: the codec, the dispatcher, the handle table and the
// descriptor operations (fstat, fsetstat, create modes) exist and are
// tested; the session loop and the request handlers are still to come, and
// `serve` does not use this package yet.
package sftpd
