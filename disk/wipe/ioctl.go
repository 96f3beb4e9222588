package wipe

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlPtr runs an ioctl whose argument is a pointer.
func ioctlPtr[T any](f *os.File, req uint, arg *T) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := conn.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(arg)))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// errUnsupported marks a mode the device or filesystem does not offer.
var errUnsupported = errors.New("not supported by this device or filesystem")

// discardRange discards or zeroes [off, off+n) without writing data: the
// BLKDISCARD, BLKSECDISCARD and BLKZEROOUT ioctls on a block device, and
// punching a hole or zeroing a range with fallocate in an image file.
func (t *Target) discardRange(mode Mode, secure bool, off, n int64) error {
	if !t.Block {
		flags := unix.FALLOC_FL_KEEP_SIZE | unix.FALLOC_FL_PUNCH_HOLE
		if mode == ZeroOut {
			flags = unix.FALLOC_FL_KEEP_SIZE | unix.FALLOC_FL_ZERO_RANGE
		}
		err := unix.Fallocate(int(t.file.Fd()), uint32(flags), off, n)
		if errors.Is(err, syscall.EOPNOTSUPP) {
			return fmt.Errorf("%s: %w", mode, errUnsupported)
		}
		return err
	}
	req := uint(unix.BLKDISCARD)
	switch {
	case mode == ZeroOut:
		req = unix.BLKZEROOUT
	case secure:
		req = unix.BLKSECDISCARD
	}
	rng := [2]uint64{uint64(off), uint64(n)}
	err := ioctlPtr(t.file, req, &rng)
	if errors.Is(err, syscall.EOPNOTSUPP) {
		what := string(mode)
		if secure {
			what = "secure discard"
		}
		return fmt.Errorf("%s: %w", what, errUnsupported)
	}
	return err
}
