package server

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The output of the commands answered in-process, as GNU coreutils (9.1,
// Debian 12) writes it, so that rclone and people read it as they read
// md5sum's and df's.

// hashLine is a line of md5sum's output: the digest in hex, two spaces and
// the name. A name with a backslash, newline or carriage return is escaped
// (\\, \n, \r) and the line then starts with a backslash.
func hashLine(sum []byte, name string) string {
	prefix := ""
	if strings.ContainsAny(name, "\\\n\r") {
		prefix = "\\"
		name = strings.NewReplacer("\\", `\\`, "\n", `\n`, "\r", `\r`).Replace(name)
	}
	return fmt.Sprintf("%s%x  %s\n", prefix, sum, name)
}

// errorLine is a coreutils error message: "md5sum: NAME: Cause\n", with
// NAME quoted as coreutils quotes it (quotef: shell-escape style, colons
// quoted) and the cause as strerror spells it.
func errorLine(cmd, name string, cause error) string {
	msg := cause.Error()
	if r, n := utf8.DecodeRuneInString(msg); n > 0 {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	return fmt.Sprintf("%s: %s: %s\n", cmd, quoteName(name), msg)
}

// quoteName quotes a file name as coreutils' quotef does: unquoted when
// the shell takes it literally, in double quotes when it holds a single
// quote and nothing else that needs them, otherwise in single quotes with
// control characters and invalid bytes as $'\ooo' pieces.
func quoteName(s string) string {
	if s == "" {
		return "''"
	}
	quote, double := false, true
	for i, r := range s {
		switch {
		case r == '\'':
			quote = true
		case r == ' ' || r == ':' || i == 0 && (r == '#' || r == '~'):
			quote = true // still fine in double quotes
		case strings.ContainsRune("!\"$&()*;<=>?[\\^`|", r) || needsEscape(s[i:]):
			quote, double = true, false
		}
	}
	switch {
	case !quote:
		return s
	case double && strings.ContainsRune(s, '\''):
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('\'')
	dollar := false // inside a $'...' piece
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case needsEscape(s[i:]):
			if !dollar {
				b.WriteString(`'$'`)
				dollar = true
			}
			for _, c := range []byte(s[i : i+n]) {
				b.WriteString(escapeByte(c))
			}
		case r == '\'':
			b.WriteString(`'\''`)
			dollar = false
		default:
			if dollar {
				b.WriteString(`''`)
				dollar = false
			}
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('\'')
	return b.String()
}

// needsEscape reports whether s starts with an invalid UTF-8 byte or a
// control character, which coreutils writes as a $'...' escape.
func needsEscape(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return r == utf8.RuneError && n <= 1 || unicode.IsControl(r)
}

// escapeByte is c inside $'...': a C escape letter or three octal digits.
func escapeByte(c byte) string {
	if i := strings.IndexByte("\a\b\f\n\r\t\v", c); i >= 0 {
		return `\` + string("abfnrtv"[i])
	}
	return fmt.Sprintf(`\%03o`, c)
}

// dfUsage is the part of statfs(2) that `df -k` reports.
type dfUsage struct {
	blocks, bfree, bavail uint64 // in units of frsize
	frsize                uint64
}

// dfOutput is `df -k`'s table for one file system: sizes in KiB rounded
// up, used = blocks - bfree, Use% = used / (used + avail) rounded up, as
// GNU df computes them. The source column is "-" and the mount point is
// the path as the user named it: the server's device and mount names are
// not the user's business. rclone reads fields 2 to 4 of the second line.
func dfOutput(u dfUsage, name string) string {
	kib := func(n uint64) string {
		return fmt.Sprint((n*u.frsize + 1023) / 1024) // no overflow below 2^54 bytes
	}
	used := u.blocks - u.bfree
	pct := "-"
	if used+u.bavail > 0 {
		pct = fmt.Sprintf("%d%%", (used*100+used+u.bavail-1)/(used+u.bavail))
	}
	row := []string{"-", kib(u.blocks), kib(used), kib(u.bavail), pct, name}
	head := []string{"Filesystem", "1K-blocks", "Used", "Available", "Use%", "Mounted on"}
	var b strings.Builder
	for _, line := range [][]string{head, row} {
		for i, f := range line {
			w := max(len(head[i]), len(row[i]))
			switch {
			case i == 0:
				fmt.Fprintf(&b, "%-*s", max(w, 14), f)
			case i == len(line)-1:
				fmt.Fprintf(&b, " %s", f)
			default:
				fmt.Fprintf(&b, " %*s", w, f)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
