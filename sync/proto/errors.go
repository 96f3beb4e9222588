package proto

import (
	"errors"
	"fmt"
)

// Code is an error class a client branches on.
type Code uint16

// Error codes of version 1. An unknown code is treated as CodeInternal.
const (
	CodeInternal    Code = 1  // an I/O or server error; retry later
	CodeBadRequest  Code = 2  // malformed or not allowed here; a bug, do not retry
	CodeVersion     Code = 3  // no common protocol version
	CodeNotFound    Code = 4  // the path (or version, or transfer) does not exist
	CodeConflict    Code = 5  // the current state differs from the expected one
	CodePermission  Code = 6  // the kernel said EACCES or EPERM
	CodeNoSpace     Code = 7  // ENOSPC or EDQUOT
	CodeTooLarge    Code = 8  // beyond a limit (file size, name length)
	CodeCanceled    Code = 9  // the client cancelled the request
	CodeUnsupported Code = 10 // a message or format this server does not serve
	CodeShutdown    Code = 11 // the server is shutting down; reconnect later
	CodeMismatch    Code = 12 // an upload's bytes do not hash to its Commit's hash
)

var codeNames = map[Code]string{
	CodeInternal: "internal", CodeBadRequest: "bad request", CodeVersion: "version",
	CodeNotFound: "not found", CodeConflict: "conflict", CodePermission: "permission denied",
	CodeNoSpace: "no space", CodeTooLarge: "too large", CodeCanceled: "canceled",
	CodeUnsupported: "unsupported", CodeShutdown: "shutdown", CodeMismatch: "hash mismatch",
}

// String names the code.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code %d", uint16(c))
}

// Error is a request's failure as the server reports it, and an error in
// Go. For CodeConflict, Current is the path's current state (nil: absent),
// so the client can reconcile without asking again.
type Error struct {
	Code    Code   `cbor:"1,keyasint"`
	Message string `cbor:"2,keyasint,omitempty"`
	Current *Entry `cbor:"3,keyasint,omitempty"`
}

// Error returns "CODE: MESSAGE".
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code.String()
	}
	return e.Code.String() + ": " + e.Message
}

// Is matches the sentinel of the same code, so errors.Is(err,
// proto.ErrConflict) works on any wrapped *Error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Current == nil && t.Code == e.Code
}

// Sentinels for errors.Is, one per code a client branches on.
var (
	ErrInternal    = &Error{Code: CodeInternal}
	ErrBadRequest  = &Error{Code: CodeBadRequest}
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrPermission  = &Error{Code: CodePermission}
	ErrNoSpace     = &Error{Code: CodeNoSpace}
	ErrTooLarge    = &Error{Code: CodeTooLarge}
	ErrCanceled    = &Error{Code: CodeCanceled}
	ErrUnsupported = &Error{Code: CodeUnsupported}
	ErrShutdown    = &Error{Code: CodeShutdown}
	ErrMismatch    = &Error{Code: CodeMismatch}
)

// VersionError is the failed handshake of two peers with no protocol
// version in common; both sides return it.
type VersionError struct {
	Local, Remote []uint32
	// Side is "client" or "server": the side that returned it.
	Side string
}

// Error says both sides' versions and which side to upgrade.
func (e *VersionError) Error() string {
	client, server := e.Local, e.Remote
	if e.Side != "client" {
		client, server = server, client
	}
	hint := "upgrade simplecloud on the client"
	if maxOf(client) > maxOf(server) {
		hint = "upgrade simplecloud on the server"
	}
	return fmt.Sprintf("sync protocol: the client speaks version %v, the server %v: %s (seen by the %s)",
		client, server, hint, e.Side)
}

// Is makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// ErrVersion matches every *VersionError.
var ErrVersion = errors.New("no common sync protocol version")

func maxOf(v []uint32) uint32 {
	var m uint32
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
