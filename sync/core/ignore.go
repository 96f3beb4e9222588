package core

import (
	"bytes"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Names with a meaning to sync itself.
const (
	// IgnoreFile holds a directory's ignore patterns in gitignore syntax.
	// It is synced like any other file.
	IgnoreFile = ".simplecloudignore"
	// StateDir (versions, node records) is never synced, at any depth.
	StateDir = ".simplecloud"
	// TempPrefix starts the name of every temporary file an executor
	// writes before renaming it into place; such files are never synced.
	TempPrefix = ".simplecloud-tmp-"
)

// Ignore decides which paths sync leaves alone: StateDir, the executors'
// temporary files and common editor and desktop scratch files (see
// Builtin), and whatever IgnoreFile patterns say. Patterns are matched by
// go-git's gitignore package, which agrees with `git check-ignore` on the
// cases our tests put to both; this type adds what git does around the
// matcher: comments, blank lines, CRLF, a BOM, "[!...]" classes, and a
// path below an ignored directory being ignored whatever later patterns
// say. POSIX classes ("[[:digit:]]") are not supported. A nil
// *Ignore applies the built-in rules only. Add is not safe concurrently
// with Ignored; Ignored is safe concurrently with itself.
type Ignore struct {
	patterns []gitignore.Pattern
	matcher  gitignore.Matcher
}

// Add adds the patterns of an IgnoreFile found in directory dir ("" for
// the synced root); they apply to paths below dir, as a .gitignore's do.
// A client that merges both sides' rules adds both files.
func (ig *Ignore) Add(dir string, data []byte) {
	var domain []string
	if dir != "" {
		domain = strings.Split(dir, "/")
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ig.patterns = append(ig.patterns, gitignore.ParsePattern(bracketNot(line), domain))
	}
	ig.matcher = gitignore.NewMatcher(ig.patterns)
}

// bracketNot rewrites git's negated bracket "[!...]" as "[^...]", the
// spelling Go's path.Match (under go-git's matcher) understands; git takes
// both.
func bracketNot(line string) string {
	if !strings.Contains(line, "[!") {
		return line
	}
	b := []byte(line)
	for i := 0; i+1 < len(b); i++ {
		switch {
		case b[i] == '\\':
			i++
		case b[i] == '[' && b[i+1] == '!':
			b[i+1] = '^'
		}
	}
	return string(b)
}

// Ignored reports whether the path p (a directory when isDir) is ignored:
// it, or a directory it lies in, matches a built-in rule or a pattern.
func (ig *Ignore) Ignored(p string, isDir bool) bool {
	elems := strings.Split(p, "/")
	for i, name := range elems {
		if Builtin(name) {
			return true
		}
		if ig != nil && ig.matcher != nil && ig.matcher.Match(elems[:i+1], isDir || i < len(elems)-1) {
			return true
		}
	}
	return false
}

// Apply returns t without its ignored entries (and whatever lies below an
// ignored directory). Reconcile applies it to all three trees, so that a
// newly ignored path is left alone on both sides rather than taken for a
// deletion on the side whose scanner skipped it.
func (ig *Ignore) Apply(t Tree) Tree {
	return t.Filter(func(p string, e Entry) bool {
		// The parents were checked when the walk passed them.
		name := Base(p)
		if Builtin(name) {
			return true
		}
		return ig != nil && ig.matcher != nil && ig.matcher.Match(strings.Split(p, "/"), e.Kind == Dir)
	})
}

// Builtin reports whether a file name is one sync never carries:
//   - StateDir and names starting with TempPrefix (sync's own);
//   - vim's swap files (".NAME.swp", ".swo" down to ".swa", and ".swx"),
//     kate's "NAME.kate-swp", and editor backups ending in "~";
//   - emacs's auto-save "#NAME#" and lock ".#NAME";
//   - LibreOffice's lock ".~lock.NAME#", Microsoft Office's owner files
//     "~$NAME" and temporary "~NAME.tmp";
//   - GLib's atomic-save temporaries ".goutputstream-XXXXXX";
//   - ".DS_Store" and "Thumbs.db", caches the desktop rebuilds per machine
//     (synced they only make conflicts between machines).
//
// A plain "*.tmp" is not ignored: programs save real files under that
// name and the user would silently lose them from sync.
func Builtin(name string) bool {
	switch name {
	case StateDir, ".DS_Store", "Thumbs.db":
		return true
	}
	n := len(name)
	switch {
	case strings.HasPrefix(name, TempPrefix),
		strings.HasSuffix(name, "~"),
		strings.HasSuffix(name, ".kate-swp"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, "~$"),
		strings.HasPrefix(name, ".goutputstream-"),
		n >= 2 && name[0] == '#' && name[n-1] == '#',
		strings.HasPrefix(name, ".~lock.") && name[n-1] == '#',
		strings.HasPrefix(name, "~") && strings.HasSuffix(name, ".tmp"):
		return true
	}
	return name[0] == '.' && n >= 5 && name[n-4:n-1] == ".sw" &&
		(name[n-1] >= 'a' && name[n-1] <= 'p' || name[n-1] == 'x')
}
