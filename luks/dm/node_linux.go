package dm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// nodeMode is the mode of the block nodes this package makes: the device
// holds decrypted data, so only root may open it.
const nodeMode = unix.S_IFBLK | 0o600

// makeNode makes dir/name a block node for dev, unless it already leads to
// dev (a node made earlier or a udev symlink). A stale block node or
// symlink left by an earlier device of that name is replaced; anything else
// in the way is an error, never removed.
func makeNode(dir, name string, dev Dev) error {
	path := filepath.Join(dir, name)
	want := unix.Mkdev(dev.Major, dev.Minor)
	var st unix.Stat_t
	if unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && uint64(st.Rdev) == want {
		return nil
	}
	switch err := unix.Lstat(path, &st); {
	case err == nil:
		if t := st.Mode & unix.S_IFMT; t != unix.S_IFBLK && t != unix.S_IFLNK {
			return fmt.Errorf("make node %s: something that is not a device node is in the way", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replace stale node: %w", err)
		}
	case !errors.Is(err, unix.ENOENT):
		return fmt.Errorf("make node %s: %w", path, err)
	}
	if err := unix.Mknod(path, nodeMode, int(want)); err != nil {
		if errors.Is(err, unix.EEXIST) && unix.Stat(path, &st) == nil && uint64(st.Rdev) == want {
			return nil // udev was quicker
		}
		return fmt.Errorf("make node %s: %w", path, err)
	}
	return nil
}

// removeNode removes dir/name if it is a block node for dev. A udev symlink
// is udev's to remove, and a node for some other device is not ours.
func removeNode(dir, name string, dev Dev) error {
	path := filepath.Join(dir, name)
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("remove node %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK || uint64(st.Rdev) != unix.Mkdev(dev.Major, dev.Minor) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove node: %w", err)
	}
	return nil
}

// pruneNode removes dir/name if it is a block node of no device-mapper
// device that exists, as a deferred remove leaves behind.
func (c *Control) pruneNode(name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(c.dir, name), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return nil
	}
	devs, err := c.List()
	if err != nil {
		return err
	}
	for _, d := range devs {
		if unix.Mkdev(d.Major, d.Minor) == uint64(st.Rdev) {
			return nil // it is some live device's node: not ours to judge
		}
	}
	return removeNode(c.dir, name, Dev{unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))})
}
