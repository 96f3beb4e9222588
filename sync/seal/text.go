package seal

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// textVersion is the first byte of a key's typeable form.
const textVersion = 1

// textLen is the typeable form's length without separators: base32 of the
// version byte, the 32-byte secret and a 4-byte CRC-32C (37 bytes).
const textLen = 60

// groupSize is how many characters a group of the typeable form holds.
const groupSize = 4

var (
	b32     = base32.StdEncoding.WithPadding(base32.NoPadding)
	castagn = crc32.MakeTable(crc32.Castagnoli)
)

// ErrKeyText is wrapped by every error of ParseText: the text is not a
// key, or it has a typo.
var ErrKeyText = errors.New("not a valid folder key")

// Text returns the key's typeable form: 60 base32 characters (A-Z, 2-7) in
// groups of 4 joined by '-', encoding a version byte, the secret and a
// CRC-32C of both. The CRC catches every single mistyped character and
// every swap of two neighbouring characters (bursts of up to 32 bits), and
// the form fits a QR code's alphanumeric mode.
func (k *Key) Text() string {
	s := b32.EncodeToString(textBytes(k.secret[:]))
	var b strings.Builder
	for i := 0; i < len(s); i += groupSize {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+groupSize, len(s))])
	}
	return b.String()
}

func textBytes(secret []byte) []byte {
	b := append([]byte{textVersion}, secret...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagn))
}

// normalizeText upper-cases s, drops separators (dashes, spaces) and maps
// the digits people type for look-alike letters (0 O, 1 I, 8 B).
func normalizeText(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ', '\t', '\n', '\r':
		case '0':
			b.WriteByte('O')
		case '1':
			b.WriteByte('I')
		case '8':
			b.WriteByte('B')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseText reads a key's typeable form (case, dashes and spaces do not
// matter). A wrong length, a character outside the alphabet or a failed
// checksum is an error wrapping ErrKeyText that says where the typo
// probably is, never what the key is.
func ParseText(s string) (*Key, error) {
	t := normalizeText(s)
	if len(t) != textLen {
		return nil, fmt.Errorf("%w: %d characters, want %d (%d groups of %d)", ErrKeyText, len(t), textLen, textLen/groupSize, groupSize)
	}
	for i := 0; i < len(t); i++ {
		if !isB32(t[i]) {
			return nil, fmt.Errorf("%w: character %d (group %d) is not a letter or a digit 2-7", ErrKeyText, i+1, i/groupSize+1)
		}
	}
	b, err := b32.DecodeString(t)
	if err != nil || b32.EncodeToString(b) != t {
		return nil, fmt.Errorf("%w: the last group has a typo", ErrKeyText)
	}
	if !checkText(b) {
		msg := "the checksum does not match: a character is mistyped"
		if i := locateTypo(t); i >= 0 {
			msg = fmt.Sprintf("the checksum does not match: character %d (group %d) looks mistyped", i+1, i/groupSize+1)
		}
		return nil, fmt.Errorf("%w: %s", ErrKeyText, msg)
	}
	if b[0] != textVersion {
		return nil, fmt.Errorf("%w: format version %d (this simplecloud reads %d)", ErrKeyText, b[0], textVersion)
	}
	return NewKey(b[1 : 1+KeySize])
}

func isB32(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '2' && c <= '7' }

func checkText(b []byte) bool {
	n := len(b) - 4
	return len(b) == 1+KeySize+4 && crc32.Checksum(b[:n], castagn) == binary.BigEndian.Uint32(b[n:])
}

// locateTypo returns the one position where changing a character makes the
// checksum match, or -1 when there is none or more than one.
func locateTypo(t string) int {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	found := -1
	buf := []byte(t)
	for i := range buf {
		orig := buf[i]
		for j := 0; j < len(alphabet); j++ {
			if alphabet[j] == orig {
				continue
			}
			buf[i] = alphabet[j]
			if b, err := b32.DecodeString(string(buf)); err == nil && b32.EncodeToString(b) == string(buf) && checkText(b) {
				if found >= 0 && found != i {
					return -1
				}
				found = i
			}
		}
		buf[i] = orig
	}
	return found
}

// File returns the key file: comment lines with the id and a warning, then
// the typeable form. Import reads either.
func (k *Key) File() []byte {
	return []byte("# simplecloud folder key\n# id " + k.id +
		"\n# Anyone with this text can read the folder: keep it secret and safe.\n" + k.Text() + "\n")
}

// ParseFile reads a key file (File's format) or a bare typeable form: lines
// starting with '#' are comments, except that an "# id ID" line must match
// the key's id.
func ParseFile(b []byte) (*Key, error) {
	var text strings.Builder
	id := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "# id "); ok {
			id = strings.TrimSpace(rest)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text.WriteString(line)
	}
	k, err := ParseText(text.String())
	if err != nil {
		return nil, err
	}
	if id != "" && id != k.id {
		return nil, fmt.Errorf("%w: the file names key %s but holds key %s", ErrKeyText, id, k.id)
	}
	return k, nil
}
