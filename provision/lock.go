package provision

import (
	"errors"
	"fmt"
	"path/filepath"

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

// Lock unmounts the volume and closes its mapping, the reverse of Unlock.
// A busy filesystem or mapping gives a *BusyError and leaves it as it is.
func (s *System) Lock(cfg *Config) (string, error) {
	v := cfg.Volume
	closeM, err := s.OpenMapper()
	if err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer closeM()
	info, err := s.Mapper.Info(v.Name)
	if err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	if !info.Exists {
		return "", fmt.Errorf("lock %s: %w", v.Name, ErrNotOpen)
	}
	mounted, err := s.isMounted(v.Mount)
	if err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	if mounted {
		if err := s.Mounter.Unmount(v.Mount); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return "", &BusyError{What: "filesystem", Path: v.Mount, Err: err}
			}
			return "", fmt.Errorf("lock: %w", err)
		}
	}
	mapper := filepath.Join(s.Dev, "mapper", v.Name)
	if err := s.Mapper.Remove(v.Name); err != nil {
		if errors.Is(err, dm.ErrBusy) {
			return "", &BusyError{What: "mapping", Path: mapper, Err: err}
		}
		return "", fmt.Errorf("lock: %w", err)
	}
	if mounted {
		return fmt.Sprintf("unmounted %s and closed %s", v.Mount, mapper), nil
	}
	return "closed " + mapper, nil
}
