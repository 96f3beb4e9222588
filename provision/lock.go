package provision

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"simplecloud/luks/dm"
)

// BusyError is returned by Lock when the filesystem or the mapping is in
// use; What says which.
type BusyError struct {
	What string // "filesystem" or "mapping"
	Path string
	Err  error
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("lock: the %s %s is in use: %v", e.What, e.Path, e.Err)
}

func (e *BusyError) Unwrap() error { return e.Err }

// LockPlan is what Lock would do to an open volume: unmount it when it is
// mounted, then remove its mapping.
type LockPlan struct {
	Name    string   `json:"name"`    // device-mapper name
	Mapper  string   `json:"mapper"`  // /dev/mapper/NAME
	Mount   string   `json:"mount"`   // the configured mount point
	Unmount bool     `json:"unmount"` // something is mounted there
	Steps   []string `json:"steps"`   // in words, in order
}

// String is the plan as a dry run prints it: a line for the volume, then
// the steps numbered.
func (p LockPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dry run: lock would close the data volume %s:\n", p.Name)
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	return b.String()
}

// PlanLock checks that the volume is open and returns what Lock would do,
// changing nothing. It opens device-mapper when s has no Mapper.
func (s *System) PlanLock(cfg *Config) (LockPlan, error) {
	v := cfg.Volume
	closeM, err := s.OpenMapper()
	if err != nil {
		return LockPlan{}, fmt.Errorf("lock: %w", err)
	}
	defer closeM()
	info, err := s.Mapper.Info(v.Name)
	if err != nil {
		return LockPlan{}, fmt.Errorf("lock: %w", err)
	}
	if !info.Exists {
		return LockPlan{}, fmt.Errorf("lock %s: %w", v.Name, ErrNotOpen)
	}
	mounted, err := s.isMounted(v.Mount)
	if err != nil {
		return LockPlan{}, fmt.Errorf("lock: %w", err)
	}
	p := LockPlan{Name: v.Name, Mapper: filepath.Join(s.Dev, "mapper", v.Name), Mount: v.Mount, Unmount: mounted}
	if mounted {
		p.Steps = append(p.Steps, "unmount "+v.Mount)
	}
	p.Steps = append(p.Steps, "close "+p.Mapper+" (remove the dm-crypt mapping)")
	return p, nil
}

// Lock unmounts the volume and closes its mapping, the reverse of Unlock,
// as PlanLock plans it. A busy filesystem or mapping gives a *BusyError and
// leaves it as it is.
func (s *System) Lock(cfg *Config) (string, error) {
	closeM, err := s.OpenMapper()
	if err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer closeM()
	p, err := s.PlanLock(cfg)
	if err != nil {
		return "", err
	}
	if p.Unmount {
		if err := s.Mounter.Unmount(p.Mount); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return "", &BusyError{What: "filesystem", Path: p.Mount, Err: err}
			}
			return "", fmt.Errorf("lock: %w", err)
		}
	}
	if err := s.Mapper.Remove(p.Name); err != nil {
		if errors.Is(err, dm.ErrBusy) {
			return "", &BusyError{What: "mapping", Path: p.Mapper, Err: err}
		}
		return "", fmt.Errorf("lock: %w", err)
	}
	if p.Unmount {
		return fmt.Sprintf("unmounted %s and closed %s", p.Mount, p.Mapper), nil
	}
	return "closed " + p.Mapper, nil
}
