//go:build !linux

package dm

import (
	"errors"
	"fmt"
	"runtime"
)

// DefaultDir is where device-mapper's control node and device nodes live.
const DefaultDir = "/dev/mapper"

// errUnsupported is what every operation returns outside Linux, where there
// is no device-mapper; the pure parts of the package still work.
var errUnsupported = fmt.Errorf("device-mapper on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Control is an open device-mapper control node; outside Linux it cannot be
// opened.
type Control struct{}

// Open fails outside Linux.
func Open() (*Control, error) { return OpenPath(DefaultDir) }

// OpenPath fails outside Linux.
func OpenPath(string) (*Control, error) { return nil, errUnsupported }

// The methods below exist so that code using this package builds on every
// platform; a Control can never be obtained outside Linux.

func (c *Control) Close() error                                     { return errUnsupported }
func (c *Control) Version() (major, minor, patch uint32, err error) { return 0, 0, 0, errUnsupported }
func (c *Control) CreateCrypt(string, string, CryptTarget) error    { return errUnsupported }
func (c *Control) Remove(string) error                              { return errUnsupported }
func (c *Control) RemoveDeferred(string) error                      { return errUnsupported }
func (c *Control) CancelDeferredRemove(string) error                { return errUnsupported }
func (c *Control) Info(string) (Info, error)                        { return Info{}, errUnsupported }
func (c *Control) Deps(string) ([]Dev, error)                       { return nil, errUnsupported }
func (c *Control) Table(string) ([]Target, error)                   { return nil, errUnsupported }
func (c *Control) TableWithKeys(string) ([]Target, error)           { return nil, errUnsupported }
func (c *Control) List() ([]Device, error)                          { return nil, errUnsupported }
