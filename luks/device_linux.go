package luks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LockDir is where cryptsetup (Debian build) keeps the metadata locks of
// block devices; see luks2-locking.txt.
var LockDir = "/run/cryptsetup"

// Device is an opened LUKS device or image file. Its methods are not safe
// for concurrent use, except ReadAt and WriteAt of the embedded file.
type Device struct {
	*os.File
	Path     string
	IsBlock  bool
	Major    uint32 // block devices only
	Minor    uint32
	Geometry Geometry

	lock      *os.File
	lockPath  string // "" for a regular file (locked through itself)
	exclusive bool
	excl      *os.File // O_EXCL claim of a block device, see Claim
}

// Claim opens a block device a second time with O_EXCL, which fails while
// it is mounted, mapped or otherwise claimed, and holds that claim until
// Close (as cryptsetup luksFormat does). It is a no-op for image files.
func (d *Device) Claim() error {
	if !d.IsBlock || d.excl != nil {
		return nil
	}
	f, err := os.OpenFile(d.Path, os.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("%s is in use (mounted, mapped or claimed by another program)", d.Path)
		}
		return fmt.Errorf("claim %s: %w", d.Path, err)
	}
	d.excl = f
	return nil
}

// OpenDevice opens a block device or image file, read-only unless write.
func OpenDevice(path string, write bool) (*Device, error) {
	flags := os.O_RDONLY
	if write {
		flags = os.O_RDWR
	}
	f, err := os.OpenFile(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open device: %w", err)
	}
	d := &Device{File: f, Path: path}
	if err := d.probe(); err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

func (d *Device) probe() error {
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", d.Path, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		d.IsBlock = true
		d.Major, d.Minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
		fd := int(d.Fd())
		var size uint64
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
			return fmt.Errorf("get size of %s: %w", d.Path, e)
		}
		lss, err := unix.IoctlGetInt(fd, unix.BLKSSZGET)
		if err != nil {
			return fmt.Errorf("get logical sector size of %s: %w", d.Path, err)
		}
		pss, err := unix.IoctlGetInt(fd, unix.BLKPBSZGET)
		if err != nil {
			pss = lss
		}
		d.Geometry = Geometry{Size: size, LogicalSectorSize: lss, PhysicalSectorSize: pss}
	case unix.S_IFREG:
		// cryptsetup takes a file's block size from its filesystem,
		// at most a page.
		bs := 4096
		var sfs unix.Statfs_t
		if unix.Fstatfs(int(d.Fd()), &sfs) == nil && sfs.Bsize > 0 && sfs.Bsize <= int64(os.Getpagesize()) {
			bs = int(sfs.Bsize)
		}
		d.Geometry = Geometry{Size: uint64(st.Size), LogicalSectorSize: 512, PhysicalSectorSize: bs}
	default:
		return fmt.Errorf("%s is neither a block device nor a regular file", d.Path)
	}
	return nil
}

// Lock takes the LUKS2 metadata lock cryptsetup uses: flock(2) on
// LockDir/L_<major>:<minor> for a block device, on the file itself for an
// image file. Shared for reading, exclusive for writing; it waits.
func (d *Device) Lock(exclusive bool) error {
	if d.lock != nil {
		return errors.New("device already locked")
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if !d.IsBlock {
		f, err := os.OpenFile(d.Path, os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s for locking: %w", d.Path, err)
		}
		if err := flock(f, how); err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", d.Path, err)
		}
		d.lock, d.exclusive = f, exclusive
		return nil
	}
	if err := os.MkdirAll(LockDir, 0o700); err != nil {
		return fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(LockDir, fmt.Sprintf("L_%d:%d", d.Major, d.Minor))
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("open lock file: %w", err)
		}
		if err := flock(f, how); err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", path, err)
		}
		// A releasing holder may have unlinked the file meanwhile: then
		// this lock is on a dead inode and must be taken again.
		var a, b unix.Stat_t
		if unix.Fstat(int(f.Fd()), &a) == nil && unix.Stat(path, &b) == nil && a.Ino == b.Ino && a.Dev == b.Dev {
			d.lock, d.lockPath, d.exclusive = f, path, exclusive
			return nil
		}
		f.Close()
	}
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// Unlock releases the metadata lock; the lock file of a block device is
// removed when no one else holds it, as cryptsetup does.
func (d *Device) Unlock() {
	if d.lock == nil {
		return
	}
	if d.lockPath != "" {
		if d.exclusive || unix.Flock(int(d.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.Remove(d.lockPath)
		}
	}
	d.lock.Close()
	d.lock = nil
}

// Close releases the lock and closes the device.
func (d *Device) Close() error {
	d.Unlock()
	if d.excl != nil {
		d.excl.Close()
		d.excl = nil
	}
	return d.File.Close()
}
