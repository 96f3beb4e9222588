// Package rootfs gives access to the files below one directory and nowhere
// else. Every lookup goes through openat2 with RESOLVE_BENEATH, so the kernel
// refuses "..", absolute symbolic links and any other way out of the root
// while it resolves, which string checks alone cannot do (a symbolic link may
// change between check and use).
//
// Paths are client paths: "/a/b" and "a/b" both name a/b below the root, and
// "/" is the root itself. The package knows nothing of SSH or SFTP: the SFTP
// server (sync/sftpd) and the sync subsystem use it alike. It makes no
// permission checks of its own; the process runs as the user and the kernel
// checks every access.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Root resolves client paths below one directory handle.
type Root struct {
	root   *os.File // O_PATH|O_DIRECTORY handle of the root
	strict bool     // refuse every symbolic link on the way (see Strict)
}

// Strict returns a Root over the same handle whose every lookup refuses
// symbolic links in any component (RESOLVE_NO_SYMLINKS), not only in the
// final one: the sync subsystem reports links as links and must never
// reach through one, even inside the root. Closing either Root closes the
// handle both share.
func (r *Root) Strict() *Root { return &Root{root: r.root, strict: true} }

// Open opens dir, which must be a directory and not a symbolic link, as a
// root.
func Open(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	}
	return &Root{root: os.NewFile(uintptr(fd), dir)}, nil
}

// Close releases the root handle.
func (r *Root) Close() error { return r.root.Close() }

// relPath turns a client path ("/a/b" or "a/b", cleaned here)
// into a path relative to the root. "/" is ".".
func relPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", unix.EINVAL
	}
	r := strings.TrimLeft(path.Clean("/"+p), "/")
	if r == "" {
		r = "."
	}
	return r, nil
}

// OpenFile resolves p below the root with openat2 and opens it with flags
// (O_CREAT and O_TMPFILE use mode). follow=false leaves a final symbolic link
// unresolved (O_NOFOLLOW; with O_PATH it opens the link itself). An attempt
// to leave the root fails with EACCES.
func (r *Root) OpenFile(p string, flags int, mode uint32, follow bool) (*os.File, error) {
	rel, err := relPath(p)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	if r.strict {
		how.Resolve = strictResolve
	}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(mode & 0o7777)
	}
	if !follow {
		how.Flags |= unix.O_NOFOLLOW
	}
	var fd int
	for {
		fd, err = unix.Openat2(int(r.root.Fd()), rel, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: escapeErr(err)}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// escapeErr reports an attempt to leave the root (EXDEV from RESOLVE_BENEATH)
// as permission denied, which clients show as such.
func escapeErr(err error) error {
	if errors.Is(err, unix.EXDEV) {
		return unix.EACCES
	}
	return err
}

// parent opens the directory that holds p and returns its handle and the
// final name. The root itself has no parent inside the root.
func (r *Root) parent(p string) (*os.File, string, error) {
	rel, err := relPath(p)
	if err != nil {
		return nil, "", &os.PathError{Op: "open", Path: p, Err: err}
	}
	if rel == "." {
		return nil, "", &os.PathError{Op: "open", Path: p, Err: unix.EACCES}
	}
	dir, base := path.Split("/" + rel)
	d, err := r.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY, 0, true)
	if err != nil {
		return nil, "", err
	}
	return d, base, nil
}

// procPath names an open handle through /proc/self/fd, for the calls (chmod,
// chown, truncate, utimensat) that have no form taking an O_PATH handle.
func procPath(f *os.File) string {
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd())
}
