package rootfs

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// strictResolve resolves below a handle and refuses every symbolic link on
// the way, not only a final one: a tree walk never follows a link, so a
// directory swapped for a link between the listing and the lookup fails
// (ELOOP) instead of leading elsewhere, even inside the root.
const strictResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// Dir is an open directory below a root, for walking a tree with a handle
// per directory: it is listed with getdents and its entries are looked up,
// stat'ed and opened relative to its handle, one name at a time, never
// following a symbolic link. A Dir is not safe for concurrent use.
type Dir struct {
	f *os.File
}

// OpenDir opens the directory p below the root for reading. Unlike
// OpenFile, no component of p may be a symbolic link (ELOOP), so the
// directory opened is the one a walk from the root would reach.
func (r *Root) OpenDir(p string) (*Dir, error) {
	rel, err := relPath(p)
	if err != nil {
		return nil, &os.PathError{Op: "opendir", Path: p, Err: err}
	}
	f, err := openat2(int(r.root.Fd()), rel, unix.O_RDONLY|unix.O_DIRECTORY, strictResolve)
	if err != nil {
		return nil, &os.PathError{Op: "opendir", Path: p, Err: err}
	}
	return &Dir{f: os.NewFile(uintptr(f), p)}, nil
}

// Lstat returns the stat buffer of p without following any symbolic link on
// the way or at its end.
func (r *Root) Lstat(p string) (unix.Stat_t, error) {
	var st unix.Stat_t
	rel, err := relPath(p)
	if err == nil {
		var fd int
		fd, err = openat2(int(r.root.Fd()), rel, unix.O_PATH|unix.O_NOFOLLOW, strictResolve)
		if err == nil {
			err = fstatat(fd, "", &st, unix.AT_EMPTY_PATH)
			unix.Close(fd)
		}
	}
	if err != nil {
		return st, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return st, nil
}

// openat2 opens name below dir with flags (O_NOFOLLOW and O_CLOEXEC added)
// and resolve, retrying on EINTR and EAGAIN, and reports an escape as
// EACCES.
func openat2(dir int, name string, flags int, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: resolve}
	for {
		fd, err := unix.Openat2(dir, name, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return -1, escapeErr(err)
		}
		return fd, nil
	}
}

func fstatat(dir int, name string, st *unix.Stat_t, flags int) error {
	for {
		err := unix.Fstatat(dir, name, st, flags)
		if err != unix.EINTR {
			return err
		}
	}
}

// checkName accepts one path component: not empty, ".", "..", and without
// "/" or NUL.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return unix.EINVAL
	}
	return nil
}

// Name returns the client path the directory was opened with.
func (d *Dir) Name() string { return d.f.Name() }

// Fd returns the directory's descriptor, valid until Close.
func (d *Dir) Fd() int { return int(d.f.Fd()) }

// Close releases the directory handle.
func (d *Dir) Close() error { return d.f.Close() }

// Stat returns the directory's own stat buffer.
func (d *Dir) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := fstatat(int(d.f.Fd()), "", &st, unix.AT_EMPTY_PATH); err != nil {
		return st, &os.PathError{Op: "stat", Path: d.f.Name(), Err: err}
	}
	return st, nil
}

// OpenDir opens the subdirectory name (one component) for reading; a
// symbolic link there fails (ENOTDIR) and is not followed.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	f, err := d.open(name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	return &Dir{f: f}, nil
}

// Open opens the entry name (one component) with flags; a symbolic link
// there fails with ELOOP and is not followed.
func (d *Dir) Open(name string, flags int) (*os.File, error) {
	return d.open(name, flags)
}

func (d *Dir) open(name string, flags int) (*os.File, error) {
	p := strings.TrimSuffix(d.f.Name(), "/") + "/" + name
	if err := checkName(name); err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	fd, err := openat2(int(d.f.Fd()), name, flags, strictResolve)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// Lstat fills st with the stat buffer of the entry name (one component),
// a symbolic link describing itself. It returns the bare errno, since a
// walk calls it for every entry and decides by it.
func (d *Dir) Lstat(name string, st *unix.Stat_t) error {
	if err := checkName(name); err != nil {
		return err
	}
	return fstatat(int(d.f.Fd()), name, st, unix.AT_SYMLINK_NOFOLLOW)
}

// Readlink returns the target of the symbolic link name (one component) as
// stored.
func (d *Dir) Readlink(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(int(d.f.Fd()), name, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// DirentType is the file type getdents reports for an entry (unix.DT_REG,
// unix.DT_DIR, unix.DT_LNK, ...; unix.DT_UNKNOWN where the file system
// does not say, and the caller must stat).
type DirentType = uint8

// ReadNames lists the directory from its start with getdents into buf
// (a few KiB at least; reused by the caller across directories) and calls fn
// with each entry's name and type, "." and ".." left out. The name is only
// valid during the call: fn copies what it keeps.
func (d *Dir) ReadNames(buf []byte, fn func(name []byte, typ DirentType)) error {
	fd := int(d.f.Fd())
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return &os.PathError{Op: "readdir", Path: d.f.Name(), Err: err}
	}
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "readdir", Path: d.f.Name(), Err: err}
		}
		if n <= 0 {
			return nil
		}
		parseDirents(buf[:n], fn)
	}
}

// parseDirents walks the linux_dirent64 records in b: d_ino (8 bytes),
// d_off (8), d_reclen (2, native byte order), d_type (1), then the
// NUL-terminated name padded to the record's length.
func parseDirents(b []byte, fn func(name []byte, typ DirentType)) {
	const nameOff = 19
	for len(b) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOff || reclen > len(b) {
			return
		}
		typ, name := b[18], b[nameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		b = b[reclen:]
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		fn(name, typ)
	}
}

// xattrArgs is struct xattr_args of getxattrat(2).
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

// noGetxattrat is set once the kernel lacks getxattrat (before Linux 6.13).
var noGetxattrat atomic.Bool

// Getxattr reads the extended attribute attr of the entry name (one
// component; a symbolic link is not followed) into buf and returns its
// length, without opening the file: getxattrat relative to the handle, or
// on kernels before 6.13 lgetxattr through the handle's /proc/self/fd link.
// It returns the bare errno (ENODATA: no such attribute, ERANGE: buf too
// small, ENOTSUP: none on this file system).
func (d *Dir) Getxattr(name, attr string, buf []byte) (int, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if !noGetxattrat.Load() {
		n, err := getxattrat(int(d.f.Fd()), name, attr, buf)
		if err != unix.ENOSYS {
			return n, err
		}
		noGetxattrat.Store(true)
	}
	for {
		n, err := unix.Lgetxattr(procPath(d.f)+"/"+name, attr, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func getxattrat(dir int, name, attr string, buf []byte) (int, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return 0, err
	}
	a, err := unix.BytePtrFromString(attr)
	if err != nil {
		return 0, err
	}
	args := xattrArgs{size: uint32(len(buf))}
	if len(buf) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&buf[0])))
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_GETXATTRAT, uintptr(dir), uintptr(unsafe.Pointer(p)),
			unix.AT_SYMLINK_NOFOLLOW, uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		runtime.KeepAlive(buf)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(n), nil
	}
}

// Create opens the entry name (one component) with flags, which include
// O_CREAT, making it with mode (less the umask) if it is not there; a
// symbolic link there fails with ELOOP and is not followed.
func (d *Dir) Create(name string, flags int, mode uint32) (*os.File, error) {
	p := strings.TrimSuffix(d.f.Name(), "/") + "/" + name
	if err := checkName(name); err != nil {
		return nil, &os.PathError{Op: "create", Path: p, Err: err}
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_CLOEXEC),
		Mode: uint64(mode & 0o7777), Resolve: strictResolve}
	for {
		fd, err := unix.Openat2(int(d.f.Fd()), name, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "create", Path: p, Err: escapeErr(err)}
		}
		return os.NewFile(uintptr(fd), p), nil
	}
}

// Rename renames the entry from to to, both names in d (renameat2 with
// flags, such as RENAME_NOREPLACE).
func (d *Dir) Rename(from, to string, flags uint) error {
	if err := checkName(from); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	if err := checkName(to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	fd := int(d.f.Fd())
	if err := unix.Renameat2(fd, from, fd, to, flags); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// Remove removes the entry name (one component) of d; flags is 0 or
// unix.AT_REMOVEDIR.
func (d *Dir) Remove(name string, flags int) error {
	if err := checkName(name); err != nil {
		return &os.PathError{Op: "remove", Path: name, Err: err}
	}
	if err := unix.Unlinkat(int(d.f.Fd()), name, flags); err != nil {
		return &os.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}
