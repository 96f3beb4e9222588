package holders

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"simplecloud/disk/holders/internal/kscan"
)

// mappedObjects opens what the mapped-files probe needs to rule out a
// mapping of anything on devs: each block device among them, and a mount
// point in the scanner's namespace of each filesystem on them. It returns
// false (and nothing open) when it cannot cover every device: one that
// will not open, or one that may carry a filesystem mounted only in
// another namespace (not mounted here and not claimed by a device stacked
// on it, which a mounted filesystem would be). What is a block device and
// what is claimed comes from the device walk (see devices).
func (s *Scanner) mappedObjects(st *scanState, devs []Dev) ([]kscan.MappedObject, func(), bool) {
	self := st.tables[st.selfNS]
	var objs []kscan.MappedObject
	closeAll := func() {
		for _, o := range objs {
			unix.Close(o.FD)
		}
	}
	fail := func(why string, args ...any) ([]kscan.MappedObject, func(), bool) {
		closeAll()
		s.log().Debug("walking every mapping", "why", fmt.Sprintf(why, args...))
		return nil, func() {}, false
	}
	for _, d := range devs {
		name := st.blockNames[d]
		if name != "" {
			fd, err := openDevice(filepath.Join(s.DevDir, name), d)
			if err != nil {
				return fail("open %s: %v", name, err)
			}
			objs = append(objs, kscan.MappedObject{FD: fd, BlockDev: true})
		}
		mounted := false
		if self != nil {
			for _, e := range self.entries {
				if e.dev != d {
					continue
				}
				fd, err := openMountDir(e.mountPoint, d)
				if err != nil {
					continue // covered by another mount, say: try the next one
				}
				objs = append(objs, kscan.MappedObject{FD: fd})
				mounted = true
				break
			}
		}
		if !mounted && !st.claimed[d] {
			return fail("%s is not mounted in this namespace and may be elsewhere", d)
		}
	}
	return objs, closeAll, true
}

// openDevice opens the block device node path read-only, without
// claiming it, and checks that it is device d.
func openDevice(path string, d Dev) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK ||
		(Dev{unix.Major(st.Rdev), unix.Minor(st.Rdev)}) != d {
		unix.Close(fd)
		return -1, fmt.Errorf("not block device %s", d)
	}
	return fd, nil
}

// openMountDir opens the mount point dir (a path, not its content) and
// checks that the filesystem there is on device d.
func openMountDir(dir string, d Dev) (int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || (Dev{unix.Major(st.Dev), unix.Minor(st.Dev)}) != d {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not on %s", dir, d)
	}
	return fd, nil
}

// processCount returns how many processes run, from the link count procfs
// gives its root (two plus one a process, roughly), or 0.
func processCount(procDir string) int {
	var st unix.Stat_t
	if unix.Stat(procDir, &st) != nil {
		return 0
	}
	return int(st.Nlink)
}
