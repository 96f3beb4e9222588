package versions

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Dir is where versions live, relative to the user's root.
const Dir = ".simplecloud/versions"

// stampLayout is the time in a version's name, in UTC.
const stampLayout = "20060102-150405"

// maxName is the longest file name Linux file systems take.
const maxName = 255

// splitExt splits a file name into its stem and extension (with its dot).
// A name whose only dot leads it (".bashrc") or ends it has no extension.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	return name[:i], name[i:]
}

// versionName returns the store path (below Dir) of the version of p kept
// at kept; n > 0 distinguishes versions kept in the same second. A stem
// that would make the name pass 255 bytes is shortened at a UTF-8
// boundary (the full path is still recorded by the name's directory and
// the stem's start; a shortened name does not parse back to p).
func versionName(p string, kept time.Time, n int) string {
	dir, name := path.Split(p)
	stem, ext := splitExt(name)
	suffix := "~" + kept.UTC().Format(stampLayout)
	if n > 0 {
		suffix += "-" + strconv.Itoa(n)
	}
	if over := len(stem) + len(suffix) + len(ext) - maxName; over > 0 {
		cut := len(stem) - over
		for cut > 0 && !utf8Start(stem[cut]) {
			cut--
		}
		stem = stem[:max(cut, 0)]
	}
	return dir + stem + suffix + ext
}

// utf8Start reports whether b can start a UTF-8 sequence.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// parseName reads a store path back: the path the version was kept from
// and when. ok is false for a name that is not a version's.
func parseName(id string) (p string, kept time.Time, ok bool) {
	p, kept, _, ok = parseSeq(id)
	return p, kept, ok
}

// parseSeq is parseName that also returns the number that tells versions
// of one second apart (0 for the first).
func parseSeq(id string) (p string, kept time.Time, n int, ok bool) {
	dir, name := path.Split(id)
	// An extension may hold a '~' itself: try each from the right.
	for i := strings.LastIndexByte(name, '~'); i >= 0; i = strings.LastIndexByte(name[:i], '~') {
		if orig, kept, n, ok := parseAt(name, i); ok {
			return dir + orig, kept, n, true
		}
	}
	return "", time.Time{}, 0, false
}

// parseAt parses name as a version name whose stamp follows the '~' at i.
func parseAt(name string, i int) (orig string, kept time.Time, n int, ok bool) {
	if len(name)-i-1 < len(stampLayout) {
		return "", time.Time{}, 0, false
	}
	stem, rest := name[:i], name[i+1:]
	kept, err := time.Parse(stampLayout, rest[:len(stampLayout)])
	if err != nil {
		return "", time.Time{}, 0, false
	}
	rest = rest[len(stampLayout):]
	if strings.HasPrefix(rest, "-") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == 1 {
			return "", time.Time{}, 0, false
		}
		if n, err = strconv.Atoi(rest[1:j]); err != nil {
			return "", time.Time{}, 0, false
		}
		rest = rest[j:]
	}
	if rest != "" && (rest[0] != '.' || len(rest) == 1 || strings.ContainsRune(rest[1:], '.')) {
		return "", time.Time{}, 0, false
	}
	if stem == "" && rest == "" {
		return "", time.Time{}, 0, false
	}
	return stem + rest, kept, n, true
}

// validID checks a version id from a client: relative, no empty, "." or
// ".." element, no NUL.
func validID(id string) error {
	if id == "" || strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("version id %q: %w", id, ErrBadID)
	}
	for _, el := range strings.Split(id, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("version id %q: %w", id, ErrBadID)
		}
	}
	return nil
}
