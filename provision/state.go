package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/BurntSushi/toml"
)

// State is what an install in progress has done so far. It is written after
// every step, next to the configuration, and removed once the configuration
// is written; a later run that finds it knows which disk, signatures and
// device-mapper devices are its own leftovers.
type State struct {
	Disk      string     `toml:"disk"`      // by-id name of the disk
	Dev       string     `toml:"dev"`       // major:minor at the time
	UUID      string     `toml:"uuid"`      // LUKS UUID, once formatted
	Name      string     `toml:"name"`      // device-mapper name
	Mount     string     `toml:"mount"`     // mount point
	WipeMode  string     `toml:"wipe_mode"` // wipe mode of the run
	WipeDone  int64      `toml:"wipe_done"` // bytes wiped from the start (resume point)
	Completed []StepName `toml:"completed"`
}

// Has reports whether step s completed.
func (s *State) Has(step StepName) bool { return s != nil && slices.Contains(s.Completed, step) }

// LoadState reads the state file; a missing file gives nil, nil.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read install state: %w", err)
	}
	var s State
	if _, err := toml.Decode(string(b), &s); err != nil {
		return nil, fmt.Errorf("parse install state %s: %w", path, err)
	}
	return &s, nil
}

// Previous reads what an earlier install left on s: the configuration and
// the state of an interrupted run, each nil when absent.
func (s *System) Previous() (*Config, *State, error) {
	cfg, err := LoadConfig(s.ConfigPath())
	if errors.Is(err, ErrNoConfig) {
		cfg, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := LoadState(s.StatePath())
	return cfg, st, err
}

func saveState(path string, s *State) error {
	var b bytes.Buffer
	b.WriteString("# An install of the data disk in progress (simplecloud install).\n")
	if err := toml.NewEncoder(&b).Encode(s); err != nil {
		return fmt.Errorf("encode install state: %w", err)
	}
	return writeFileAtomic(path, b.Bytes(), 0o600)
}
