package rootfs

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futimens sets the access and modification times of the open file f to
// the nanosecond, on its handle (utimensat with a NULL path, as C's
// futimens): no path is resolved again, so the file changed is the one
// open. os.Chtimes would resolve a path, and x/sys has no futimens with
// nanoseconds.
func Futimens(f *os.File, atime, mtime time.Time) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, f.Fd(), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "futimens", Path: f.Name(), Err: errno}
	}
	return nil
}
