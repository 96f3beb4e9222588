package luks

import (
	"errors"
	"fmt"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrNotLUKS: the device carries no LUKS signature at all.
	ErrNotLUKS = errors.New("not a LUKS device")
	// ErrInvalidHeader: a LUKS signature is there but no usable header is.
	ErrInvalidHeader = errors.New("invalid LUKS header")
	// ErrChecksum: a LUKS2 header copy fails its checksum.
	ErrChecksum = errors.New("header checksum mismatch")
	// ErrWrongKey: no keyslot opens with the given passphrase or key file.
	ErrWrongKey = errors.New("no key available with this passphrase")
	// ErrUnsupported: the header uses an algorithm or feature this package
	// does not implement.
	ErrUnsupported = errors.New("unsupported")
	// ErrNoSlot: the keyslot asked for is not in use or there is no free one.
	ErrNoSlot = errors.New("keyslot not available")
	// ErrRequirements: the LUKS2 header lists mandatory requirements this
	// package does not know; it is read-only and must not be activated.
	ErrRequirements = errors.New("unmet LUKS2 requirements")
	// ErrLUKS1ReadOnly: this package reads LUKS1 headers but never changes them.
	ErrLUKS1ReadOnly = errors.New("LUKS1 headers are read-only here (convert with cryptsetup convert --type luks2)")
)

// FieldError names a malformed member of the LUKS2 JSON metadata or a field
// of a binary header.
type FieldError struct {
	Field  string // path such as "keyslots.1.kdf.salt" or "binary header hdr_size"
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// HeaderError reports why one header copy (or the LUKS1 header) is unusable.
type HeaderError struct {
	Copy   string // "primary", "secondary" or "LUKS1"
	Offset int64  // byte offset of the copy on the device
	Err    error
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("%s header at offset %d: %v", e.Copy, e.Offset, e.Err)
}

func (e *HeaderError) Unwrap() []error { return []error{ErrInvalidHeader, e.Err} }

// NoHeaderError is returned when neither LUKS2 header copy is usable; it holds
// the reason for each.
type NoHeaderError struct {
	Primary, Secondary error
}

func (e *NoHeaderError) Error() string {
	return fmt.Sprintf("no valid LUKS2 header: %v; %v", e.Primary, e.Secondary)
}

func (e *NoHeaderError) Unwrap() []error {
	out := []error{ErrInvalidHeader}
	if e.Primary != nil {
		out = append(out, e.Primary)
	}
	if e.Secondary != nil {
		out = append(out, e.Secondary)
	}
	return out
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
