package holders

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// errStatTimeout is returned when a stat does not finish in time.
type errStatTimeout struct{ d time.Duration }

func (e errStatTimeout) Error() string { return fmt.Sprintf("stat did not return within %v", e.d) }
func (e errStatTimeout) Timeout() bool { return true }

// statTimeout runs stat(p) in a goroutine and gives up after d. A stat
// stuck in the kernel keeps its goroutine (and thread) until it returns.
func statTimeout(stat StatFunc, p string, d time.Duration) (FileID, error) {
	type result struct {
		id  FileID
		err error
	}
	ch := make(chan result, 1)
	go func() {
		id, err := stat(p)
		ch <- result{id, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.id, r.err
	case <-t.C:
		return FileID{}, &os.PathError{Op: "statx", Path: p, Err: errStatTimeout{d}}
	}
}

// statx stats p with AT_STATX_DONT_SYNC: cached attributes, no round trip
// to a server.
func statx(p string) (FileID, error) {
	var sx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, p, unix.AT_STATX_DONT_SYNC, unix.STATX_TYPE, &sx)
	if err != nil {
		return FileID{}, &os.PathError{Op: "statx", Path: p, Err: err}
	}
	return FileID{
		Dev:   Dev{sx.Dev_major, sx.Dev_minor},
		RDev:  Dev{sx.Rdev_major, sx.Rdev_minor},
		Block: sx.Mode&unix.S_IFMT == unix.S_IFBLK,
	}, nil
}

// loopBacking asks a loop device node which device its backing file lies on.
func loopBacking(path string) (Dev, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return Dev{}, false
	}
	defer unix.Close(fd)
	info, err := unix.IoctlLoopGetStatus64(fd)
	if err != nil {
		return Dev{}, false
	}
	return Dev{unix.Major(info.Device), unix.Minor(info.Device)}, true
}
