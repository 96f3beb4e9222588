package core

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// maxName is the longest file name Linux file systems take, in bytes.
const maxName = 255

// ConflictName returns where a conflict's losing copy of path p is kept:
// the same directory, named as Syncthing names conflict copies,
// NAME.sync-conflict-YYYYMMDD-HHMMSS-HOST.EXT, with now formatted in its
// own location (a client passes its local time, as Syncthing does) and
// HOST the host whose copy lost. EXT is the part after the last dot, so
// "a.tar.gz" becomes "a.tar.sync-conflict-...-HOST.gz", as in Syncthing.
// Unlike Syncthing, a name whose only dot leads it (".bashrc") or ends it
// ("notes.") has no extension, so the copy of ".bashrc" stays a dotfile
// named ".bashrc.sync-conflict-...-HOST" instead of
// ".sync-conflict-...-HOST.bashrc". HOST is cleaned to letters, digits,
// "-", "_" and "." ("unknown" when nothing is left). When the result would
// pass 255 bytes, NAME is shortened (at a UTF-8 boundary) to fit.
func ConflictName(p string, now time.Time, host string) string {
	dir, name := Parent(p), Base(p)
	stem, ext := splitExt(name)
	tag := ".sync-conflict-" + now.Format("20060102-150405") + "-" + cleanHost(host)
	if over := len(stem) + len(tag) + len(ext) - maxName; over > 0 {
		stem = truncateUTF8(stem, max(len(stem)-over, 0))
	}
	out := stem + tag + ext
	if dir == "" {
		return out
	}
	return dir + "/" + out
}

// splitExt splits a name into stem and extension (with its dot), the
// extension being empty for names without a dot other than a leading or
// trailing one.
func splitExt(name string) (string, string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	return name[:i], name[i:]
}

func cleanHost(host string) string {
	host = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, host)
	host = strings.Trim(host, ".")
	if len(host) > 64 {
		host = host[:64]
	}
	if host == "" {
		return "unknown"
	}
	return host
}

func truncateUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var conflictRE = regexp.MustCompile(`\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9._-]+`)

// IsConflictCopy reports whether the last element of p has the form of a
// conflict copy's name (ours or Syncthing's).
func IsConflictCopy(p string) bool {
	return conflictRE.MatchString(Base(p))
}
