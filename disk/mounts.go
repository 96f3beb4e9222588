package disk

import (
	"io"

	"simplecloud/internal/mountinfo"
)

// mountRaw is one line of a mount table before its device is resolved to
// a kernel name.
type mountRaw struct {
	dev        string // major:minor; empty from /proc/*/mounts
	source     string // e.g. "/dev/sda2"
	mountPoint string
	fstype     string
}

// parseMountinfo reads a /proc/PID/mountinfo table.
func parseMountinfo(r io.Reader) ([]mountRaw, error) {
	es, err := mountinfo.ParseMountinfo(r)
	if err != nil {
		return nil, err
	}
	out := make([]mountRaw, 0, len(es))
	for _, e := range es {
		out = append(out, mountRaw{dev: e.Dev, source: e.Source, mountPoint: e.MountPoint, fstype: e.FSType})
	}
	return out, nil
}

// parseMounts reads a /proc/PID/mounts (fstab format) table.
func parseMounts(r io.Reader) ([]mountRaw, error) {
	es, err := mountinfo.ParseMounts(r)
	if err != nil {
		return nil, err
	}
	out := make([]mountRaw, 0, len(es))
	for _, e := range es {
		out = append(out, mountRaw{source: e.Source, mountPoint: e.MountPoint, fstype: e.FSType})
	}
	return out, nil
}

// parseSwaps reads /proc/swaps and returns the swap areas in use.
func parseSwaps(r io.Reader) ([]string, error) { return mountinfo.ParseSwaps(r) }
