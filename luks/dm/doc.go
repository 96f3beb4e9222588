// Package dm is a small device-mapper layer on the kernel's ioctl interface
// (include/uapi/linux/dm-ioctl.h, interface version 4), written on
// golang.org/x/sys/unix without libdevmapper, cgo or dmsetup.
//
// It does what activating and closing a dm-crypt volume needs: create a
// device, load a crypt table and resume it (Control.CreateCrypt), query it
// (Info, Deps, Table, List), and remove it, now or when its last user goes
// (Remove, RemoveDeferred, CancelDeferredRemove).
//
// There is no udev in the appliance's initramfs, so the package makes the
// /dev/mapper/NAME block node itself after a device is created and removes it
// with the device. A node that udev made (a symlink to ../dm-N) is left alone.
//
// The wire format (struct dm_ioctl and what follows it) and the crypt table
// line are built and parsed by plain functions that run and are tested on any
// machine; only the files named *_linux.go talk to the kernel.
//
// Key material: the hex key is built in a byte slice, copied once into the
// ioctl buffer, and both are zeroed right after the ioctl; requests that carry
// a key set DM_SECURE_DATA_FLAG so the kernel wipes its copy too. No error
// message or log line from this package contains a key, and Table masks the
// key of a crypt target unless TableWithKeys is asked for.
package dm
