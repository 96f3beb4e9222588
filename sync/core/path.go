package core

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadPath is wrapped by every error ValidPath returns.
var ErrBadPath = errors.New("invalid sync path")

// ValidPath checks a path as sync carries it: relative to the synced
// root, elements separated by "/", no empty element (so no leading,
// trailing or doubled slash), no "." or ".." element and no NUL byte. The
// root itself is not an entry and has no path. Bytes need not be UTF-8:
// Linux names are bytes.
func ValidPath(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty", ErrBadPath)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("%w: %q contains a NUL byte", ErrBadPath, p)
	}
	for rest := p; ; {
		elem, tail, more := strings.Cut(rest, "/")
		switch elem {
		case "":
			return fmt.Errorf("%w: %q has an empty element", ErrBadPath, p)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q element", ErrBadPath, p, elem)
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

// ComparePaths orders paths element by element, as if "/" sorted before
// every other byte, so that a directory's descendants follow it directly:
// "a", "a/b", "a/b/c", "a-b". It returns -1, 0 or +1.
func ComparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Parent returns the directory that holds p, "" for the root.
func Parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Base returns p's last element.
func Base(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// Within reports whether p lies strictly below dir ("" is the root, below
// which every path lies).
func Within(p, dir string) bool {
	if dir == "" {
		return true
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}
