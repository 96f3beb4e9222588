package holders

import (
	"errors"

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
}

func newFastIO() *fastIO {
	return &fastIO{buf: make([]byte, 16<<10), link: make([]byte, unix.PathMax), dir: make([]byte, 8<<10)}
}

// readFileAt returns the content of path relative to the directory
// dirfd; the slice is valid until the next call.
func (f *fastIO) readFileAt(dirfd int, path string) ([]byte, error) {
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
	}
}

// readlink returns the target of the symlink (or /proc magic link) path.
func (f *fastIO) readlink(path string) (string, error) {
	return f.readlinkAt(unix.AT_FDCWD, path)
}

// readlinkAt is readlink relative to the directory dirfd.
func (f *fastIO) readlinkAt(dirfd int, path string) (string, error) {
	for {
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

// names lists the entries of a directory (without "." and "..").
func (f *fastIO) names(dirfd int, path string, out []string) ([]string, error) {
	fd, err := openRetry(dirfd, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return out, err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Getdents(fd, f.dir)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return out, err
		}
		if n <= 0 {
			return out, nil
		}
		_, _, out = unix.ParseDirent(f.dir[:n], -1, out)
	}
}

// openDir opens a directory to use as dirfd; close it with closeFD.
func openDir(path string) (int, error) {
	return openRetry(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_PATH)
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
