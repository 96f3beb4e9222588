package seal

import (
	"errors"
	"fmt"
)

// Conditions a caller branches on. Every error of Open and DecryptName wraps
// one of them (through an *OpenError or a *NameError, which say where).
var (
	// ErrFormat: the bytes are not this format (a wrong magic, a record
	// framing no sealer writes).
	ErrFormat = errors.New("not in the sealed format")
	// ErrAuth: a record or name fails authentication: it was changed, or it
	// was sealed under another key.
	ErrAuth = errors.New("authentication failed: changed, or sealed under another key")
	// ErrTruncated: the data ends before its end record: cut short, or
	// chunks dropped at the end.
	ErrTruncated = errors.New("sealed file is truncated")
	// ErrExtended: bytes follow the end record.
	ErrExtended = errors.New("sealed file has data after its end")
	// ErrWrongKey: a folder's key marker names another key.
	ErrWrongKey = errors.New("wrong folder key")
)

// OpenError says where Open found a sealed file bad: the record's index
// (0 is the first after the magic) and its offset in the sealed bytes.
type OpenError struct {
	Record int
	Offset int64
	Err    error
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("open sealed file: record %d at byte %d: %v", e.Record, e.Offset, e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// NameError says which stored name failed to decrypt, and under which
// parent.
type NameError struct {
	Parent, Name string
	Err          error
}

func (e *NameError) Error() string {
	return fmt.Sprintf("decrypt name %q in %q: %v", e.Name, e.Parent, e.Err)
}

func (e *NameError) Unwrap() error { return e.Err }
