package server

import (
	_ "embed"
	"strings"
)

// docSource is this package's documentation, whose [server] block lists
// every key of Config with an example value and a comment.
//
//go:embed doc.go
var docSource string

// SampleConfig returns the [server] table as the package documentation
// (doc.go) lists it, every line commented out, for a shipped configuration
// file to show each key without setting any. It is taken from doc.go at
// build time so that the list is written once; a test checks that it names
// every key of Config and that its values are the defaults.
func SampleConfig() string {
	var b strings.Builder
	in := false
	for line := range strings.Lines(docSource) {
		text, ok := strings.CutPrefix(line, "//\t")
		switch {
		case !in && ok && strings.TrimSpace(text) == "[server]":
			in = true
		case in && !ok:
			return b.String()
		}
		if in {
			b.WriteString("# " + text)
		}
	}
	return b.String()
}
