// Package xdg finds the XDG base directories (the configuration and state
// homes) the way the XDG Base Directory specification says: the variable
// when it holds an absolute path, else its default below $HOME. One copy of
// the rule for the client's state, its configuration and the key store.
package xdg

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Base directories: the variable and its default below $HOME.
var (
	ConfigHome = Dir{Env: "XDG_CONFIG_HOME", Default: ".config"}
	StateHome  = Dir{Env: "XDG_STATE_HOME", Default: ".local/state"}
)

// Dir is one base directory.
type Dir struct {
	Env     string // the variable naming it
	Default string // relative to $HOME, when the variable is unset or relative
}

// Path returns the base directory joined with elem; getenv is os.Getenv,
// normally.
func (d Dir) Path(getenv func(string) string, elem ...string) (string, error) {
	base := getenv(d.Env)
	if base == "" || !filepath.IsAbs(base) {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("find $%s: %w", d.Env, errors.New("neither it nor HOME is set"))
		}
		base = filepath.Join(home, d.Default)
	}
	return filepath.Join(append([]string{base}, elem...)...), nil
}
