package holders

import (
	"encoding/binary"
	"errors"
	"slices"

	"golang.org/x/sys/unix"
)

// fastIO reads /proc with plain system calls into buffers it reuses: a
// scan makes tens of thousands of small reads, and the os package's
// poller registration and stat per open double their cost. One fastIO
// belongs to one goroutine.
type fastIO struct {
	buf  []byte
	link []byte
	dir  []byte
	fds  []int
}

// newFastIO returns buffers for one worker. They start small and grow as
// needed (most /proc files are small): a scan touches every page it
// allocates, and a page first touched costs a fault.
func newFastIO() *fastIO {
	return &fastIO{buf: make([]byte, 4<<10)}
}

// readFileAt returns the content of path relative to the directory
// dirfd; the slice is valid until the next call.
func (f *fastIO) readFileAt(dirfd int, path string) ([]byte, error) {
	return f.read(dirfd, path, false)
}

// readRecordAt is readFileAt for a /proc file the kernel writes in one
// piece (cmdline, cgroup, stat): a read that does not fill the buffer got
// all of it, which saves the read that returns end-of-file.
func (f *fastIO) readRecordAt(dirfd int, path string) ([]byte, error) {
	return f.read(dirfd, path, true)
}

func (f *fastIO) read(dirfd int, path string, record bool) ([]byte, error) {
	fd, err := openRetry(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(f.buf) {
			f.buf = append(f.buf, make([]byte, len(f.buf))...)
		}
		m, err := unix.Read(fd, f.buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return f.buf[:n], nil
		}
		n += m
		if record && n < len(f.buf) {
			return f.buf[:n], nil
		}
	}
}

// readlinkAt returns the target of the symlink (or /proc magic link)
// path relative to the directory dirfd.
func (f *fastIO) readlinkAt(dirfd int, path string) (string, error) {
	for {
		if len(f.link) == 0 {
			f.link = make([]byte, 256)
		}
		n, err := unix.Readlinkat(dirfd, path, f.link)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", err
		}
		if n < len(f.link) {
			return string(f.link[:n]), nil
		}
		f.link = make([]byte, 2*len(f.link))
	}
}

// fdList lists the open file descriptors of the process whose /proc
// directory is dirfd, in order, without allocating. It returns the fd
// directory itself to read the links at (close it with closeFD): a lookup
// relative to it saves walking "fd/" for every descriptor. The slice is
// valid until the next call. Only a failure to open the directory is an
// error.
func (f *fastIO) fdList(dirfd int) (int, []int, error) {
	return f.numbers(dirfd, "fd")
}

// threadCount returns how many threads the process whose /proc directory
// is dirfd has: procfs gives its task directory a link count of two plus
// that. It returns 0 when it cannot tell.
func (f *fastIO) threadCount(dirfd int) int {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, "task", &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Nlink < 2 {
		return 0
	}
	return int(st.Nlink) - 2
}

// numbers lists the numeric entries of the directory name below dirfd,
// as fdList does.
func (f *fastIO) numbers(dirfd int, name string) (int, []int, error) {
	fd, err := openRetry(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return -1, nil, err
	}
	f.fds = f.fds[:0]
	sorted := true
	for {
		if len(f.dir) == 0 {
			f.dir = make([]byte, 8<<10)
		}
		n, err := unix.Getdents(fd, f.dir)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			break // on an error (the process died), what was read so far
		}
		// struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
		for b := f.dir[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			if v, ok := atoiName(b[19:reclen]); ok {
				if len(f.fds) > 0 && v < f.fds[len(f.fds)-1] {
					sorted = false
				}
				f.fds = append(f.fds, v)
			}
			b = b[reclen:]
		}
	}
	if !sorted {
		slices.Sort(f.fds)
	}
	return fd, f.fds, nil
}

// atoiName parses a NUL-terminated decimal directory entry name.
func atoiName(b []byte) (int, bool) {
	v, digits := 0, 0
	for _, c := range b {
		if c == 0 {
			break
		}
		if c < '0' || c > '9' || digits > 9 {
			return 0, false
		}
		v = v*10 + int(c-'0')
		digits++
	}
	return v, digits > 0
}

// openDir opens a directory to use as dirfd; close it with closeFD.
func openDir(path string) (int, error) { return openDirAt(unix.AT_FDCWD, path) }

// openDirAt is openDir relative to the directory dirfd.
func openDirAt(dirfd int, path string) (int, error) {
	return openRetry(dirfd, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_PATH)
}

func closeFD(fd int) { unix.Close(fd) }

func openRetry(dirfd int, path string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, path, flags, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
