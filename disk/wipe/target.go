package wipe

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Target is a block device or image file opened for wiping. A block device
// is held with O_EXCL for as long as the Target is open, so nothing can
// mount it or stack on it meanwhile.
type Target struct {
	Path  string
	Size  int64
	Block bool  // a block device; otherwise a regular file
	Align int64 // offset and length alignment direct I/O needs

	file   *os.File // buffered; exclusive for a block device
	direct *os.File // O_DIRECT, or nil where the device or filesystem refuses it
}

// Open checks path and opens it for wiping. It refuses, before writing
// anything: a missing path, anything that is not a block device or regular
// file, a read-only device, a path it may not write, a device in use, and
// zero size.
func Open(path string) (*Target, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("wipe %s: %w", path, err)
	}
	t := &Target{Path: path}
	switch {
	case st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0:
		t.Block = true
	case st.Mode().IsRegular():
	default:
		return nil, fmt.Errorf("wipe %s: not a block device or regular file (%s)", path, describe(st.Mode()))
	}
	if t.Block {
		err = t.openBlock()
	} else {
		err = t.openFile(st.Size())
	}
	if err != nil {
		return nil, err
	}
	if t.Size == 0 {
		t.Close()
		return nil, fmt.Errorf("wipe %s: size is zero, nothing to wipe", path)
	}
	return t, nil
}

// describe names a kind of file for an error message.
func describe(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

func (t *Target) openBlock() error {
	ro, err := os.OpenFile(t.Path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("wipe %s: %w", t.Path, err)
	}
	flag, err := unix.IoctlGetInt(int(ro.Fd()), unix.BLKROGET)
	ro.Close()
	if err != nil {
		return fmt.Errorf("wipe %s: read the read-only flag: %w", t.Path, err)
	}
	if flag != 0 {
		return fmt.Errorf("wipe %s: the device is read-only", t.Path)
	}
	fd, err := unix.Open(t.Path, unix.O_RDWR|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("wipe %s: the device is in use (mounted, swap, or a device is stacked on it): %w", t.Path, err)
		}
		return fmt.Errorf("wipe %s: open for writing: %w", t.Path, err)
	}
	t.file = os.NewFile(uintptr(fd), t.Path)
	var size uint64
	if err := ioctlPtr(t.file, unix.BLKGETSIZE64, &size); err != nil {
		t.Close()
		return fmt.Errorf("wipe %s: read the size: %w", t.Path, err)
	}
	t.Size = int64(size)
	ssz, err := unix.IoctlGetInt(fd, unix.BLKSSZGET)
	if err != nil || ssz <= 0 {
		ssz = 512
	}
	t.Align = int64(ssz)
	// The exclusive claim is held by t.file; a second, non-exclusive open
	// of the same device is allowed.
	if dfd, err := unix.Open(t.Path, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0); err == nil {
		t.direct = os.NewFile(uintptr(dfd), t.Path)
	}
	return nil
}

func (t *Target) openFile(size int64) error {
	f, err := os.OpenFile(t.Path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("wipe %s: open for writing: %w", t.Path, err)
	}
	t.file, t.Size, t.Align = f, size, 4096
	var sx unix.Statx_t
	if unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &sx) == nil &&
		sx.Mask&unix.STATX_DIOALIGN != 0 {
		if sx.Dio_offset_align == 0 {
			return nil // the filesystem does not do direct I/O
		}
		t.Align = int64(max(sx.Dio_offset_align, sx.Dio_mem_align))
	}
	if dfd, err := unix.Open(t.Path, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0); err == nil {
		t.direct = os.NewFile(uintptr(dfd), t.Path)
	}
	return nil
}

// Direct reports whether the target takes direct I/O.
func (t *Target) Direct() bool { return t.direct != nil }

// Close releases the target (and a block device's exclusive claim).
func (t *Target) Close() error {
	var err error
	if t.direct != nil {
		err = t.direct.Close()
		t.direct = nil
	}
	if t.file != nil {
		if cerr := t.file.Close(); err == nil {
			err = cerr
		}
		t.file = nil
	}
	return err
}
