package dm

import (
	"errors"
	"fmt"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultDir is where device-mapper's control node and device nodes live.
const DefaultDir = "/dev/" + unix.DM_DIR

const (
	// initialBuffer is the ioctl buffer size tried first; libdevmapper
	// starts at the same 16 KiB.
	initialBuffer = 16 << 10
	// maxBuffer bounds the growth on DM_BUFFER_FULL_FLAG.
	maxBuffer = 32 << 20
)

// Control is an open device-mapper control node. Its methods may be called
// from several goroutines at once (each ioctl has its own buffer), but not
// concurrently with Close. Operations need CAP_SYS_ADMIN.
type Control struct {
	fd   int
	dir  string // holds "control" and the device nodes made by CreateCrypt
	kmsg string // the kernel log device, read for the reasons of a failed create
	// sys does one ioctl on the control node: (*Control).ioctl, or a
	// stand-in kernel in tests of the buffer handling.
	sys func(cmd uint, buf []byte) error
}

// Open opens /dev/mapper/control.
func Open() (*Control, error) { return OpenPath(DefaultDir) }

// OpenPath opens dir/control; device nodes are made and removed in dir.
func OpenPath(dir string) (*Control, error) {
	path := filepath.Join(dir, unix.DM_CONTROL_NODE)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("open %s: %w (is the dm_mod module loaded?)", path, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c := &Control{fd: fd, dir: dir, kmsg: "/dev/kmsg"}
	c.sys = c.ioctl
	return c, nil
}

// Close closes the control node. Devices stay as they are.
func (c *Control) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	if err != nil {
		return fmt.Errorf("close device-mapper control: %w", err)
	}
	return nil
}

// Version returns the kernel's device-mapper ioctl interface version.
func (c *Control) Version() (major, minor, patch uint32, err error) {
	var v [3]uint32
	err = c.run(unix.DM_VERSION, header{}, nil, func(h header, _ []byte) error {
		v = h.Version
		return nil
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("device-mapper version: %w", err)
	}
	return v[0], v[1], v[2], nil
}

// run sends one ioctl with h and payload and hands the reply to parse.
// When the kernel says its reply did not fit (DM_BUFFER_FULL_FLAG), it
// retries with a buffer twice as large. Every buffer is zeroed before run
// returns, so a key in the payload or in a reply does not outlive the call;
// the caller still owns (and clears) payload. parse may be nil.
func (c *Control) run(cmd uint, h header, payload []byte, parse func(header, []byte) error) error {
	for size := initialBuffer; ; size *= 2 {
		if size > maxBuffer {
			return fmt.Errorf("reply does not fit in %d bytes", maxBuffer)
		}
		buf, err := newRequest(h, payload, size)
		if err != nil {
			return err
		}
		full, err := c.roundTrip(cmd, buf, parse)
		clear(buf)
		if err != nil || !full {
			return err
		}
	}
}

// roundTrip does one ioctl in buf. It reports whether the reply was cut
// short for lack of room, in which case parse has not been called.
func (c *Control) roundTrip(cmd uint, buf []byte, parse func(header, []byte) error) (full bool, err error) {
	if err := c.sys(cmd, buf); err != nil {
		return false, err
	}
	h, data, err := parseReply(buf)
	if err != nil {
		return false, err
	}
	if h.Flags&flagBufferFull != 0 {
		return true, nil
	}
	if parse == nil {
		return false, nil
	}
	return false, parse(h, data)
}

// ioctl passes buf to the kernel.
func (c *Control) ioctl(cmd uint, buf []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), uintptr(cmd), uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return errno
	}
	return nil
}
