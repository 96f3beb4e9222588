package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
)

// applyAnswers reads --answers, a TOML file whose keys are install's long
// flag names, and sets every flag not given on the command line. The
// command line wins.
func (f *installFlags) applyAnswers(cmd *cobra.Command) error {
	if f.answers == "" {
		return nil
	}
	b, err := os.ReadFile(f.answers)
	if err != nil {
		return fmt.Errorf("read answers: %w", err)
	}
	var m map[string]any
	if err := toml.Unmarshal(b, &m); err != nil {
		return usageError{fmt.Errorf("parse answers %s: %w", f.answers, err)}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fl := cmd.Flags().Lookup(k)
		if fl == nil || k == "answers" || fl.Hidden {
			return usageError{fmt.Errorf("answers %s: unknown key %q (keys are install's long flag names)", f.answers, k)}
		}
		if fl.Changed {
			continue
		}
		v := m[k]
		switch v.(type) {
		case string, bool, int64:
		default:
			return usageError{fmt.Errorf("answers %s: key %q: want a string, boolean or integer", f.answers, k)}
		}
		if err := cmd.Flags().Set(k, fmt.Sprint(v)); err != nil {
			return usageError{fmt.Errorf("answers %s: key %q: %w", f.answers, k, err)}
		}
	}
	if f.answers != "" && f.disk == "" {
		return usageError{errors.New("answers file without disk: name the disk in the file or with --disk")}
	}
	return nil
}
