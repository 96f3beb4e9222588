package sftpd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"simplecloud/sync/rootfs"
)

// Options are a session's limits and settings. The zero value serves with
// OpenSSH's defaults and no handle limit.
type Options struct {
	// MaxHandles bounds the files and directories the session holds open
	// (0: no limit); an OPEN or OPENDIR beyond it fails.
	MaxHandles int
	// Umask is cleared from the mode of every file and directory the
	// client creates, as sftp-server -u does. The process umask applies
	// too (the kernel's), so the mask in effect is the union of both.
	Umask uint32
	// MaxPacket is the largest packet accepted, the limit advertised by
	// limits@openssh.com (0: MaxPacket, OpenSSH's 256 KiB; at most
	// MaxPacket). A longer frame ends the session.
	MaxPacket int
	// MaxInFlight bounds the requests queued or running at once (0: 64).
	MaxInFlight int
	// PasswdFile and GroupFile name the files user and group names are
	// read from, for listings and users-groups-by-id@openssh.com ("":
	// /etc/passwd and /etc/group).
	PasswdFile, GroupFile string
}

func (o Options) withDefaults() Options {
	if o.MaxPacket <= 0 || o.MaxPacket > MaxPacket {
		o.MaxPacket = MaxPacket
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.PasswdFile == "" {
		o.PasswdFile = "/etc/passwd"
	}
	if o.GroupFile == "" {
		o.GroupFile = "/etc/group"
	}
	o.Umask &= 0o7777
	return o
}

// session is the state of one SFTP session.
type session struct {
	root    *rootfs.Root
	rootID  fileID // the root directory, whose ".." is itself
	opts    Options
	log     *slog.Logger
	handles *handleTable
	disp    *Dispatcher
	out     *writer

	namesOnce sync.Once
	names     *idNames // user and group names, read at first use
	refused   sync.Once
}

// fileID identifies a file by device and inode.
type fileID struct{ dev, ino uint64 }

// Serve serves one SFTP session on rw with root as the client's "/", until
// the client ends the stream (nil) or breaks the protocol (an error). It
// closes every handle the client left open; it does not close rw or root.
func Serve(rw io.ReadWriter, root *rootfs.Root, opts Options, log *slog.Logger) error {
	opts = opts.withDefaults()
	s := &session{root: root, opts: opts, log: log, handles: newHandleTable(opts.MaxHandles),
		disp: NewDispatcher(opts.MaxInFlight)}
	if st, err := root.Stat("/", true); err == nil {
		s.rootID = fileID{uint64(st.Dev), st.Ino}
	}
	br := bufio.NewReaderSize(rw, 64<<10)
	if err := s.init(br, rw); err != nil {
		return err
	}
	s.out = newWriter(rw, opts.MaxInFlight+1)
	err := s.loop(br)
	s.disp.Wait()
	werr := s.out.close()
	s.handles.closeAll()
	if err == nil && werr != nil {
		err = fmt.Errorf("write sftp reply: %w", werr)
	}
	return err
}

// init reads the client's INIT and answers VERSION 3 with the extensions.
func (s *session) init(br *bufio.Reader, w io.Writer) error {
	pkt, err := ReadFrame(br, nil, s.opts.MaxPacket)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil // gone before saying anything
		}
		return fmt.Errorf("read sftp init: %w", err)
	}
	p, err := Decode(pkt)
	if err != nil {
		return fmt.Errorf("read sftp init: %w", err)
	}
	in, ok := p.(*Init)
	if !ok {
		return fmt.Errorf("read sftp init: got packet type %d before INIT: %w", pkt[0], ErrBadPacket)
	}
	s.log.Debug("sftp init", "client_version", in.Version)
	if _, err := w.Write(AppendFrame(nil, &Version{Version: 3, Extensions: extensions})); err != nil {
		return fmt.Errorf("write sftp version: %w", err)
	}
	return nil
}

// loop reads requests until the end of the stream and hands each to the
// dispatcher (requests on a handle) or runs it as a barrier (the rest).
func (s *session) loop(br *bufio.Reader) error {
	for {
		hdr, err := br.Peek(4)
		if err != nil {
			if errors.Is(err, io.EOF) && len(hdr) == 0 {
				return nil
			}
			return fmt.Errorf("read sftp frame: %w", noEOF(err))
		}
		// The length picks the pool; ReadFrame checks it against the
		// limit before reading, so that no length sizes an allocation.
		n := min(int(binary.BigEndian.Uint32(hdr)), s.opts.MaxPacket)
		buf := getBuf(n)
		pkt, err := ReadFrame(br, *buf, s.opts.MaxPacket)
		if err != nil {
			putBuf(buf)
			return err
		}
		if err := s.route(pkt, buf); err != nil {
			return err
		}
	}
}

// route decodes one request and runs it in its place in the order (see
// the package doc). buf, which holds pkt, goes back to the pool once the
// request is done.
func (s *session) route(pkt []byte, buf *[]byte) error {
	if pkt[0] == TypeInit {
		putBuf(buf)
		return fmt.Errorf("sftp: duplicate INIT: %w", ErrBadPacket)
	}
	var p Packet
	err := fmt.Errorf("packet type %d: %w", pkt[0], ErrBadPacket)
	if isRequestType(pkt[0]) {
		p, err = decodeRequest(pkt)
	}
	if err != nil {
		defer putBuf(buf)
		return s.undecodable(pkt, err)
	}
	id := binary.BigEndian.Uint32(pkt[1:5]) // every request has its id first
	job := func() {
		s.out.send(s.serve(p, id))
		putBuf(buf)
	}
	if h, ok := handleOf(p); ok {
		s.disp.Submit(h, job)
		return nil
	}
	s.disp.Barrier(job)
	return nil
}

// undecodable answers a packet Decode refused: SSH_FX_OP_UNSUPPORTED for
// a type no request has, SSH_FX_BAD_MESSAGE for a malformed request. A
// packet too short to carry an id cannot be answered and ends the session.
func (s *session) undecodable(pkt []byte, err error) error {
	if len(pkt) < 5 {
		return fmt.Errorf("sftp request without an id: %w", err)
	}
	id := binary.BigEndian.Uint32(pkt[1:5])
	code, msg := StatusBadMessage, "Bad message"
	if !isRequestType(pkt[0]) {
		code, msg = StatusOpUnsupported, fmt.Sprintf("Operation unsupported: packet type %d", pkt[0])
	}
	s.log.Debug("sftp request refused", "type", pkt[0], "err", err)
	s.disp.Barrier(func() { s.out.send(statusFrame(id, code, msg)) })
	return nil
}

// isRequestType reports whether t is a request of SFTP v3 (INIT aside).
func isRequestType(t uint8) bool {
	return t >= TypeOpen && t <= TypeSymlink || t == TypeExtended
}

// handleOf returns the handle a request acts on, for the requests that act
// on one handle only: those go through the dispatcher's queue of that
// handle. All others (paths, OPEN, copy-data with its two handles, and
// every extension but fsync and fstatvfs) are barriers.
func handleOf(p Packet) (string, bool) {
	switch p := p.(type) {
	case *HandleReq:
		return p.Handle, true
	case *Read:
		return p.Handle, true
	case *Write:
		return p.Handle, true
	case *Fsetstat:
		return p.Handle, true
	case *Extended:
		if p.Name == extFsync || p.Name == extFstatvfs {
			d := decoder{b: p.Data}
			h := d.str()
			return h, d.err == nil
		}
	}
	return "", false
}

// serve runs request p, whose id is id, and returns its encoded reply.
func (s *session) serve(p Packet, id uint32) *[]byte {
	switch p := p.(type) {
	case *Open:
		return s.open(p)
	case *HandleReq:
		switch p.T {
		case TypeClose:
			return s.closeHandle(p)
		case TypeFstat:
			return s.fstat(p)
		case TypeReaddir:
			return s.readdir(p)
		}
	case *Read:
		return s.read(p)
	case *Write:
		return s.write(p)
	case *Fsetstat:
		return s.fsetstat(p)
	case *PathReq:
		return s.pathReq(p)
	case *PathAttrs:
		return s.pathAttrs(p)
	case *TwoPaths:
		return s.twoPaths(p)
	case *Extended:
		return s.extended(p)
	}
	return statusFrame(id, StatusOpUnsupported, "Operation unsupported")
}

// statusFrame encodes a STATUS reply.
func statusFrame(id, code uint32, msg string) *[]byte {
	b := getBuf(smallBuf)
	*b = AppendFrame(*b, &Status{ID: id, Code: code, Message: msg, Language: "en"})
	return b
}

// errFrame encodes the STATUS reply of err (nil: SSH_FX_OK).
func errFrame(id uint32, err error) *[]byte {
	b := getBuf(smallBuf)
	*b = AppendFrame(*b, statusOf(id, err))
	return b
}

// frame encodes a reply packet.
func frame(p Packet) *[]byte {
	b := getBuf(smallBuf)
	*b = AppendFrame(*b, p)
	return b
}

// errBadHandle is the error of a request on a handle that is not open, or
// not of the kind the request needs (SSH_FX_FAILURE, as OpenSSH answers).
var errBadHandle = errors.New("invalid handle")
