package luks

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// AttachLoop binds an image file to a free loop device, as cryptsetup does
// when asked to open a file, and returns the device path and an open handle
// of it. The loop device clears itself when its last user goes: the caller
// closes the handle once the dm-crypt mapping holds the device (or gives up),
// and closing the mapping then detaches the loop device.
func AttachLoop(path string, readOnly bool) (string, *os.File, error) {
	flags := os.O_RDWR
	if readOnly {
		flags = os.O_RDONLY
	}
	img, err := os.OpenFile(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open image: %w", err)
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open loop control: %w", err)
	}
	defer ctl.Close()
	for range 10 { // another program may take the free device first
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", nil, fmt.Errorf("find a free loop device: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		f, err := configureLoop(dev, img, flags, readOnly)
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return dev, f, nil
	}
	return "", nil, errors.New("attach loop device: every free loop device was taken meanwhile")
}

func configureLoop(dev string, img *os.File, flags int, readOnly bool) (*os.File, error) {
	if _, err := os.Stat(dev); errors.Is(err, os.ErrNotExist) {
		// No udev (the appliance's initramfs): make the node ourselves.
		var n int
		fmt.Sscanf(dev, "/dev/loop%d", &n)
		if err := unix.Mknod(dev, unix.S_IFBLK|0o600, int(unix.Mkdev(7, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("make %s: %w", dev, err)
		}
	}
	f, err := os.OpenFile(dev, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
	if readOnly {
		cfg.Info.Flags |= unix.LO_FLAGS_READ_ONLY
	}
	copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], img.Name())
	err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
		// Kernels before 5.8 lack LOOP_CONFIGURE.
		if err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_SET_FD, int(img.Fd())); err == nil {
			if err = unix.IoctlLoopSetStatus64(int(f.Fd()), &cfg.Info); err != nil {
				unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("attach %s to %s: %w", img.Name(), dev, err)
	}
	return f, nil
}
