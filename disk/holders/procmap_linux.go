package holders

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// procmapQuery is struct procmap_query of <linux/fs.h> (Linux 6.11+): the
// PROCMAP_QUERY ioctl on /proc/PID/maps returns one mapping at a time in
// binary, without formatting the text of every line and the path of every
// mapped file as reading the file does.
type procmapQuery struct {
	Size        uint64
	QueryFlags  uint64
	QueryAddr   uint64
	VMAStart    uint64
	VMAEnd      uint64
	VMAFlags    uint64
	VMAPageSize uint64
	VMAOffset   uint64
	Inode       uint64
	DevMajor    uint32
	DevMinor    uint32
	VMANameSize uint32
	BuildIDSize uint32
	VMANameAddr uint64
	BuildIDAddr uint64
}

const (
	procmapQueryIoctl     = 0xC0686611 // _IOWR('f', 17, struct procmap_query)
	procmapCoveringOrNext = 0x10
	procmapFileBacked     = 0x20
)

// errNoProcmapQuery means the kernel lacks PROCMAP_QUERY; read the text.
var errNoProcmapQuery = errors.New("PROCMAP_QUERY not supported")

// queryMaps lists the file mappings of the process whose /proc directory is
// dirfd that keep accepts, with their paths.
func (f *fastIO) queryMaps(dirfd int, keep mapKeeper) ([]mapEntry, error) {
	fd, err := openRetry(dirfd, "maps", unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []mapEntry
	q := procmapQuery{Size: uint64(unsafe.Sizeof(procmapQuery{})), QueryFlags: procmapCoveringOrNext | procmapFileBacked}
	for addr, first := uint64(0), true; ; first = false {
		q.QueryAddr, q.VMANameSize, q.VMANameAddr = addr, 0, 0
		if err := procmapIoctl(fd, &q); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return out, nil // no more file mappings
			}
			if first && (errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL)) {
				return nil, errNoProcmapQuery
			}
			return nil, err
		}
		if d, ok := keep(Dev{q.DevMajor, q.DevMinor}, q.VMAStart, q.VMAEnd); ok {
			if len(f.link) < unix.PathMax {
				f.link = make([]byte, unix.PathMax)
			}
			q.QueryAddr, q.VMANameSize = q.VMAStart, uint32(len(f.link))
			q.VMANameAddr = uint64(uintptr(unsafe.Pointer(&f.link[0])))
			if err := procmapIoctl(fd, &q); err == nil && q.VMANameSize > 0 {
				e := mapEntry{dev: d, path: string(f.link[:q.VMANameSize-1])} // the size counts the NUL
				if !containsEntry(out, e) {
					out = append(out, e)
				}
			}
		}
		if q.VMAEnd <= addr {
			return out, nil
		}
		addr = q.VMAEnd
	}
}

func procmapIoctl(fd int, q *procmapQuery) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), procmapQueryIoctl, uintptr(unsafe.Pointer(q)))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func containsEntry(es []mapEntry, e mapEntry) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}
