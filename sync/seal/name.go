package seal

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// MaxName is the longest stored name (NAME_MAX on Linux file systems).
const MaxName = 255

// LongPrefix starts the stored name of a component whose encrypted name is
// longer than MaxName: LongPrefix and the unpadded base64url SHA-256 of the
// full encrypted name (44 bytes). The full name is kept in a side file
// beside it, named SideFile(stored). No encrypted name starts with '~'.
const LongPrefix = "~"

// sideSuffix ends a long name's side file.
const sideSuffix = ".name"

// nameAD is the associated data of a name: a label and the parent
// directory's plaintext path (relative to the folder root, "" for the
// root), so a name moved to another directory fails to decrypt.
func nameAD(parent string) []byte {
	return append([]byte("simplecloud name v1\x00"), parent...)
}

var b64 = base64.RawURLEncoding

// EncryptName encrypts one path component, name, of the directory parent
// (a plaintext path relative to the folder root, "" for the root). full is
// the unpadded base64url of AES-SIV(name) with the parent as associated
// data; stored is the name to use on the server: full itself when it fits
// MaxName, else LongName(full), and then the caller stores full in the side
// file SideFile(stored). The same key, parent and name give the same result.
func (k *Key) EncryptName(parent, name string) (stored, full string, err error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > MaxName {
		return "", "", fmt.Errorf("encrypt name %q: not a valid path component", name)
	}
	ct, err := k.names.EncryptDeterministically(padName(name), nameAD(parent))
	if err != nil {
		return "", "", fmt.Errorf("encrypt name: %w", err)
	}
	full = b64.EncodeToString(ct)
	if len(full) > MaxName {
		return LongName(full), full, nil
	}
	return full, full, nil
}

// DecryptName decrypts full, an encrypted name in parent (for a long name:
// the side file's content, checked against the stored name by
// CheckLongName first). A name that was changed, sealed under another key
// or moved from another directory is a *NameError wrapping ErrAuth.
func (k *Key) DecryptName(parent, full string) (string, error) {
	ct, err := b64.DecodeString(full)
	if err != nil {
		return "", &NameError{Parent: parent, Name: full, Err: fmt.Errorf("%w: not base64url", ErrFormat)}
	}
	pt, err := k.names.DecryptDeterministically(ct, nameAD(parent))
	if err != nil {
		return "", &NameError{Parent: parent, Name: full, Err: ErrAuth}
	}
	name, ok := unpadName(pt)
	if !ok {
		return "", &NameError{Parent: parent, Name: full, Err: fmt.Errorf("%w: bad padding", ErrFormat)}
	}
	return name, nil
}

// namePad is the block that names are padded to before encryption, so a
// stored name tells its plaintext's length only to within 16 bytes.
const namePad = 16

// padName appends 1 to 16 bytes, each holding their count (PKCS #7), so
// the length is a multiple of namePad.
func padName(name string) []byte {
	n := namePad - len(name)%namePad
	b := make([]byte, len(name), len(name)+n)
	copy(b, name)
	for i := 0; i < n; i++ {
		b = append(b, byte(n))
	}
	return b
}

func unpadName(b []byte) (string, bool) {
	if len(b) == 0 || len(b)%namePad != 0 {
		return "", false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > namePad {
		return "", false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return "", false
		}
	}
	return string(b[:len(b)-n]), true
}

// LongName returns the stored name of a long encrypted name.
func LongName(full string) string {
	h := sha256.Sum256([]byte(full))
	return LongPrefix + b64.EncodeToString(h[:])
}

// IsLongName reports whether stored is a long name's stored form.
func IsLongName(stored string) bool { return strings.HasPrefix(stored, LongPrefix) }

// SideFile returns the name of the side file that holds a long name's full
// encrypted name.
func SideFile(stored string) string { return stored + sideSuffix }

// CheckLongName checks that full, read from the side file, belongs to the
// long stored name.
func CheckLongName(stored, full string) error {
	if LongName(full) != stored {
		return &NameError{Name: stored, Err: fmt.Errorf("%w: side file does not match the long name", ErrAuth)}
	}
	return nil
}

// SplitStored splits a stored name at its first '.': base is the encrypted
// (or long) name, suffix what the server appended ("" for a plain entry,
// ".name" for a side file, ".sync-conflict-DATE-NODE" for a conflict copy
// the server made). Encrypted names never contain '.'.
func SplitStored(stored string) (base, suffix string) {
	if i := strings.IndexByte(stored, '.'); i >= 0 {
		return stored[:i], stored[i:]
	}
	return stored, ""
}

// EncryptPath encrypts every component of p, a plaintext path relative to
// the folder root, and returns the stored path. long maps the stored path
// of each long-named component to its full encrypted name (the side file's
// content), for the caller to create.
func (k *Key) EncryptPath(p string) (stored string, long map[string]string, err error) {
	if p == "" {
		return "", nil, nil
	}
	var out []string
	parent := ""
	for _, c := range strings.Split(p, "/") {
		s, full, err := k.EncryptName(parent, c)
		if err != nil {
			return "", nil, err
		}
		out = append(out, s)
		if s != full {
			if long == nil {
				long = map[string]string{}
			}
			long[strings.Join(out, "/")] = full
		}
		parent = joinPath(parent, c)
	}
	return strings.Join(out, "/"), long, nil
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// targetAD is the associated data of a symlink target: a label and the
// link's own plaintext path, so a target cannot be moved to another link.
func targetAD(link string) []byte {
	return append([]byte("simplecloud target v1\x00"), link...)
}

// EncryptTarget encrypts the target of the symlink at link (a plaintext
// path relative to the folder root) as names are encrypted, padded to 16
// bytes: the server stores the result as the link's target.
func (k *Key) EncryptTarget(link, target string) (string, error) {
	if target == "" || strings.ContainsRune(target, 0) {
		return "", fmt.Errorf("encrypt symlink target of %q: empty or has a NUL byte", link)
	}
	ct, err := k.names.EncryptDeterministically(padName(target), targetAD(link))
	if err != nil {
		return "", fmt.Errorf("encrypt symlink target: %w", err)
	}
	return b64.EncodeToString(ct), nil
}

// DecryptTarget decrypts a symlink target stored at link; errors are as
// DecryptName's.
func (k *Key) DecryptTarget(link, stored string) (string, error) {
	ct, err := b64.DecodeString(stored)
	if err != nil {
		return "", &NameError{Parent: link, Name: stored, Err: fmt.Errorf("%w: not base64url", ErrFormat)}
	}
	pt, err := k.names.DecryptDeterministically(ct, targetAD(link))
	if err != nil {
		return "", &NameError{Parent: link, Name: stored, Err: ErrAuth}
	}
	t, ok := unpadName(pt)
	if !ok {
		return "", &NameError{Parent: link, Name: stored, Err: fmt.Errorf("%w: bad padding", ErrFormat)}
	}
	return t, nil
}
