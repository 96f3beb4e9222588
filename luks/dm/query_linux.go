package dm

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Info returns the state of device name. A missing device is not an error:
// it gives an Info with Exists false.
func (c *Control) Info(name string) (Info, error) {
	if err := ValidName(name); err != nil {
		return Info{}, fmt.Errorf("info %q: %w", name, err)
	}
	var info Info
	err := c.run(unix.DM_DEV_STATUS, header{Name: name}, nil, func(h header, _ []byte) error {
		info = infoOf(h)
		return nil
	})
	if errors.Is(err, unix.ENXIO) {
		return Info{Name: name}, nil
	}
	if err != nil {
		return Info{}, fmt.Errorf("info %q: %w", name, err)
	}
	return info, nil
}

// Deps returns the devices the live table of device name uses.
func (c *Control) Deps(name string) ([]Dev, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("deps of %q: %w", name, err)
	}
	var devs []Dev
	err := c.run(unix.DM_TABLE_DEPS, header{Name: name}, nil, func(_ header, data []byte) error {
		var err error
		devs, err = parseDeps(data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deps of %q: %w", name, lookupErr(err))
	}
	return devs, nil
}

// Table returns the live table of device name, with the key of any crypt
// target masked by zeros of the same length.
func (c *Control) Table(name string) ([]Target, error) {
	return c.table(name, false)
}

// TableWithKeys is Table with crypt keys in clear. The key then lives in an
// immutable string the caller cannot wipe; use it only where the key must
// be shown (recovery, tests).
func (c *Control) TableWithKeys(name string) ([]Target, error) {
	return c.table(name, true)
}

func (c *Control) table(name string, showKeys bool) ([]Target, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("table of %q: %w", name, err)
	}
	var targets []Target
	h := header{Name: name, Flags: flagStatusTable | flagSecureData}
	err := c.run(unix.DM_TABLE_STATUS, h, nil, func(r header, data []byte) error {
		var err error
		targets, err = parseTargets(data, r.TargetCount, showKeys)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("table of %q: %w", name, lookupErr(err))
	}
	return targets, nil
}

// List returns every device-mapper device, sorted by name.
func (c *Control) List() ([]Device, error) {
	var devs []Device
	err := c.run(unix.DM_LIST_DEVICES, header{Flags: flagUUID}, nil, func(_ header, data []byte) error {
		var err error
		devs, err = parseNameList(data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devs, nil
}

// lookupErr turns the kernel's answer for an unknown name into ErrNotFound.
func lookupErr(err error) error {
	if errors.Is(err, unix.ENXIO) {
		return ErrNotFound
	}
	return err
}
