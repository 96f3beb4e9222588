// Package sftpd is the SFTP version 3 server of stream mode (with OpenSSH's
// extensions), written on top of the rooted file layer of sync/rootfs. It
// knows nothing of SSH: Serve serves one session over any byte stream.
//
// It replaces pkg/sftp's request server, which cannot give the semantics
// sshfs relies on (issue 14): its packet manager runs reads and writes on 8
// workers and everything else on another, so an FSTAT or FSETSTAT overtakes
// earlier WRITEs on the same handle; it turns FSTAT and FSETSTAT into
// operations on the path the handle was opened with, not on the open file;
// it ignores the mode sent with OPEN and MKDIR; it reports atime as mtime;
// it rewrote absolute symlink targets; and it lists directories without "."
// and "..". Here every request on a handle acts on the open descriptor
// (pread, pwrite, fstat, ftruncate, fchmod, futimes, fchown, fsync), OPEN
// and MKDIR create with the client's mode less Options.Umask, and symlink
// targets are stored as given.
//
// Ordering. OpenSSH's sftp-server is strictly serial, and clients rely on
// that beyond what the draft promises: sshfs pipelines WRITEs and then
// sends a SETSTAT, STAT or RENAME of the path being written, and expects it
// to see the writes. So a request on one handle (CLOSE, READ, WRITE, FSTAT,
// FSETSTAT, READDIR, fsync, fstatvfs) goes to that handle's queue in the
// Dispatcher and runs after every earlier request on the handle, while
// other handles' queues run in parallel; every other request (paths, OPEN,
// OPENDIR, copy-data with its two handles, the path extensions) is a
// barrier: it waits for everything received before it and runs before
// anything received after. Each request thus sees every earlier request on
// its handle and every earlier path request, and a path request sees
// everything. Only requests on different handles may overlap, and those
// commute. Bulk transfer is READs or WRITEs on one handle, which the
// barriers never stall; a client that mixes a path request into every few
// handle requests (sshfs's stat storms during a copy) gets OpenSSH's serial
// behaviour for those.
//
// Replies leave through one writer that flushes its buffer only when no
// further reply is queued, so a burst of replies costs few writes to the
// stream below; READ's DATA is read straight into its reply buffer, and
// request and reply buffers come from pools.
//
// The wire codec is the package's own (codec.go, packet.go, attrs.go) rather
// than pkg/sftp's: pkg/sftp keeps its packet types unexported and its newer
// encoder under internal/, so neither can be imported, and the v3 format is
// small enough that a codec with explicit bounds (no length read from the
// wire is trusted for an allocation) is shorter than an adapter would be.
package sftpd
