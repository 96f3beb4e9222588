package proto

import (
	"bytes"
	"fmt"
	"io"
	"slices"
)

// Version1 is the protocol version this package speaks.
const Version1 uint32 = 1

// SupportedVersions lists the protocol versions this package speaks, ascending.
var SupportedVersions = []uint32{Version1}

// Capabilities of version 1 a server may offer.
const (
	CapVersions = "versions" // keeps versions; Versions and Restore work
	CapSealed   = "sealed"   // serves FormatSealed folders
	CapFlush    = "flush"    // directory entries made durable at Flush, not before each answer
	// CapUnhashed: a Commit with a zero hash takes the hash of the bytes
	// received, which Done's entry carries (see PROTOCOL.md, Transfers).
	CapUnhashed = "unhashed"
)

// Dial does the client's side of the handshake on rw: it sends the magic
// and h (h.Versions defaults to SupportedVersions) and reads the server's Welcome.
// With no version in common it returns a *VersionError.
func Dial(rw io.ReadWriter, h Hello) (*Conn, *Welcome, error) {
	if len(h.Versions) == 0 {
		h.Versions = SupportedVersions
	}
	c := newConn(rw)
	if _, err := io.WriteString(rw, Magic); err != nil {
		return nil, nil, fmt.Errorf("send sync greeting: %w", err)
	}
	if err := c.Send(0, true, &h); err != nil {
		return nil, nil, err
	}
	if err := readMagic(c.r, "server"); err != nil {
		return nil, nil, err
	}
	f, err := c.Recv()
	if err != nil {
		return nil, nil, fmt.Errorf("read the server's welcome: %w", unexpected(err))
	}
	w, ok := f.Msg.(*Welcome)
	if !ok || f.ID != 0 {
		return nil, nil, fmt.Errorf("%w: the server answered hello with %T on id %d", ErrFrame, f.Msg, f.ID)
	}
	if w.Version == 0 {
		return nil, w, &VersionError{Local: h.Versions, Remote: w.Versions, Side: "client"}
	}
	if !slices.Contains(h.Versions, w.Version) {
		return nil, w, fmt.Errorf("%w: the server chose version %d, not offered", ErrFrame, w.Version)
	}
	c.Version = w.Version
	return c, w, nil
}

// Accept does the server's side of the handshake on rw: it reads the
// client's magic and Hello, chooses the highest version both speak, and
// answers with w completed (Version, Versions, Caps cut to the client's).
// With no version in common it still answers (Version 0, so the client can
// say why) and returns a *VersionError.
func Accept(rw io.ReadWriter, w Welcome) (*Conn, *Hello, error) {
	c := newConn(rw)
	if err := readMagic(c.r, "client"); err != nil {
		return nil, nil, err
	}
	f, err := c.Recv()
	if err != nil {
		return nil, nil, fmt.Errorf("read the client's hello: %w", unexpected(err))
	}
	h, ok := f.Msg.(*Hello)
	if !ok || f.ID != 0 {
		return nil, nil, fmt.Errorf("%w: the client began with %T on id %d, not hello", ErrFrame, f.Msg, f.ID)
	}
	if _, err := io.WriteString(rw, Magic); err != nil {
		return nil, nil, fmt.Errorf("send sync greeting: %w", err)
	}
	w.Versions = SupportedVersions
	w.Version = 0
	for _, v := range SupportedVersions {
		if slices.Contains(h.Versions, v) {
			w.Version = v
		}
	}
	var caps []string
	for _, cp := range w.Caps {
		if slices.Contains(h.Caps, cp) {
			caps = append(caps, cp)
		}
	}
	w.Caps = caps
	if w.MaxInflight == 0 || w.MaxInflight > MaxInflight {
		w.MaxInflight = MaxInflight
	}
	if err := c.Send(0, w.Version == 0, &w); err != nil {
		return nil, h, err
	}
	if w.Version == 0 {
		return nil, h, &VersionError{Local: SupportedVersions, Remote: h.Versions, Side: "server"}
	}
	c.Version = w.Version
	return c, h, nil
}

// readMagic reads the greeting and names what came instead.
func readMagic(r io.Reader, peer string) error {
	var b [len(Magic)]byte
	n, err := io.ReadFull(r, b[:])
	if err != nil && n == 0 {
		return fmt.Errorf("read the %s's sync greeting: %w", peer, unexpected(err))
	}
	if !bytes.Equal(b[:n], []byte(Magic)) {
		return fmt.Errorf("%w: the %s is not speaking the simplecloud-sync protocol: it sent %q", ErrFrame, peer, b[:n])
	}
	return nil
}
