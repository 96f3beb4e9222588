package server

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The server runs no shell and no program, but rclone's SFTP backend asks
// for checksums and free space by exec requests, and without them
// `rclone check` can compare nothing. So the few command lines rclone sends
// are recognised here and answered in-process (user_exec.go):
//
//	md5sum                    the probe at connect time, on empty stdin
//	md5sum /dir/a\ b.txt      one file, escaped by rclone for a POSIX shell
//	sha1sum, sha256sum        likewise
//	df -k /dir                for `rclone about`, when statvfs fails
//
// The parser accepts exactly the quoting rclone produces (a backslash before
// every character outside [A-Za-z0-9_.,:/@-] and U+0080..U+FFFF, and a
// newline as '\n' in single quotes), single-quoted words in general, and
// plain unquoted paths. Every other shell syntax (pipes, ;, &, $, backticks,
// globs, redirections, double quotes, a leading ~ or #), a second path or an
// option rclone does not send is refused, and the request is refused as any
// other exec is.

// userCommand is one command line the server answers itself.
type userCommand struct {
	name  string // md5sum, sha1sum, sha256sum or df
	path  string // the path named, as given (unquoted); "" for stdin
	stdin bool   // a checksum of standard input: the command had no path
}

// errNotOffered is wrapped by every parse error: the line is not one of the
// commands answered in-process.
var errNotOffered = errors.New("not an offered command")

// hashCommands are the checksum commands answered, as GNU coreutils names them.
var hashCommands = map[string]bool{"md5sum": true, "sha1sum": true, "sha256sum": true}

// parseUserCommand parses an exec request's command line. It returns an
// error wrapping errNotOffered for every line that is not exactly one of
// the offered commands.
func parseUserCommand(line string) (userCommand, error) {
	words, err := shellWords(line)
	if err != nil {
		return userCommand{}, err
	}
	if len(words) == 0 {
		return userCommand{}, fmt.Errorf("empty command: %w", errNotOffered)
	}
	name := words[0]
	if !name.plain {
		return userCommand{}, fmt.Errorf("quoted command name: %w", errNotOffered)
	}
	args := words[1:]
	switch {
	case hashCommands[name.text] && len(args) == 0:
		return userCommand{name: name.text, stdin: true}, nil
	case hashCommands[name.text] && len(args) == 1:
		return pathCommand(name.text, args[0])
	case name.text == "df" && len(args) == 2 && args[0].plain && args[0].text == "-k":
		return pathCommand(name.text, args[1])
	}
	return userCommand{}, fmt.Errorf("command %q with %d arguments: %w", name.text, len(args), errNotOffered)
}

// pathCommand is name with the single path w, which must be a path: not
// empty and not an option (rclone's paths are absolute; "-" would be stdin).
func pathCommand(name string, w word) (userCommand, error) {
	if w.text == "" || strings.HasPrefix(w.text, "-") {
		return userCommand{}, fmt.Errorf("argument %q is not a path: %w", w.text, errNotOffered)
	}
	return userCommand{name: name, path: w.text}, nil
}

// word is one shell word after quote removal.
type word struct {
	text  string
	plain bool // written without quotes or backslashes
}

// shellWords splits line into words as a POSIX shell would, for the small
// subset of the shell language described above, and refuses the rest.
func shellWords(line string) ([]word, error) {
	if strings.IndexByte(line, 0) >= 0 {
		return nil, fmt.Errorf("NUL byte: %w", errNotOffered) // no path or argument can hold one
	}
	var (
		words []word
		cur   strings.Builder
		in    bool // inside a word
		plain bool
	)
	end := func() {
		if in {
			words = append(words, word{text: cur.String(), plain: plain})
			cur.Reset()
		}
		in = false
	}
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			end()
			i++
			continue
		case !in && (c == '#' || c == '~'):
			return nil, fmt.Errorf("%q at the start of a word: %w", c, errNotOffered)
		}
		if !in {
			in, plain = true, true
		}
		switch {
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, fmt.Errorf("backslash at the end of a line: %w", errNotOffered)
			}
			_, n := utf8.DecodeRuneInString(line[i+1:])
			cur.WriteString(line[i+1 : i+1+n])
			plain = false
			i += 1 + n
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote: %w", errNotOffered)
			}
			cur.WriteString(line[i+1 : i+1+j])
			plain = false
			i += j + 2
		case c >= 0x80 || isPlainByte(c):
			cur.WriteByte(c)
			i++
		default:
			return nil, fmt.Errorf("shell syntax %q: %w", c, errNotOffered)
		}
	}
	end()
	return words, nil
}

// isPlainByte reports whether c is an ASCII character rclone leaves
// unescaped, one that a shell takes literally outside quotes.
func isPlainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("_.,:/@-", c) >= 0
}
