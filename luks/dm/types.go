package dm

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on; errors returned by this package wrap
// them (test with errors.Is).
var (
	// ErrNotFound means no device-mapper device has the given name.
	ErrNotFound = errors.New("no such device-mapper device")
	// ErrBusy means the device is open (mounted, held by a process or by
	// another device) and so cannot be removed now.
	ErrBusy = errors.New("device-mapper device is in use")
	// ErrExists means a device with the given name or uuid already exists.
	ErrExists = errors.New("device-mapper device already exists")
)

// Info is the state of one device as DM_DEV_STATUS reports it.
type Info struct {
	Name, UUID   string
	Major, Minor uint32 // of the mapped block device (/dev/dm-N)
	OpenCount    int32  // how many times the block device is open
	TargetCount  uint32 // targets in the live table
	Suspended    bool
	ReadOnly     bool
	// DeferredRemove is set when a deferred remove is pending: the device
	// goes away when its open count drops to zero.
	DeferredRemove bool
	// Exists is false when there is no device of that name; the other
	// fields are then empty.
	Exists bool
}

// Dev is a block device number.
type Dev struct {
	Major, Minor uint32
}

// String returns the device number as the kernel writes it in tables:
// "MAJOR:MINOR".
func (d Dev) String() string { return fmt.Sprintf("%d:%d", d.Major, d.Minor) }

// Device is one entry of List.
type Device struct {
	Name, UUID   string // UUID is empty on kernels before 5.14, which do not list it
	Major, Minor uint32
}

// Target is one line of a device's table, as DM_TABLE_STATUS returns it.
// Start and Length are in 512-byte sectors.
type Target struct {
	Start, Length uint64
	Type          string // "crypt", "linear", ...
	Params        string // the target's table parameters
}

// decodeDev splits a device number in the kernel's "huge" encoding, which
// the ioctl interface uses: minor bits 0-7, major bits 8-19, the rest of the
// minor from bit 20.
func decodeDev(dev uint64) Dev {
	return Dev{
		Major: uint32(dev>>8) & 0xfff,
		Minor: uint32(dev&0xff) | uint32(dev>>12)&0xfff00,
	}
}

// encodeDev is the inverse of decodeDev.
func encodeDev(d Dev) uint64 {
	return uint64(d.Minor&0xff) | uint64(d.Major&0xfff)<<8 | uint64(d.Minor&^0xff)<<12
}

// infoOf reads the device state the kernel puts in a reply header.
func infoOf(h header) Info {
	d := decodeDev(h.Dev)
	return Info{
		Name:           h.Name,
		UUID:           h.UUID,
		Major:          d.Major,
		Minor:          d.Minor,
		OpenCount:      h.OpenCount,
		TargetCount:    h.TargetCount,
		Suspended:      h.Flags&flagSuspend != 0,
		ReadOnly:       h.Flags&flagReadOnly != 0,
		DeferredRemove: h.Flags&flagDeferredRemove != 0,
		Exists:         true,
	}
}
