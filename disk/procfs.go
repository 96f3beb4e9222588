package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
)

// mounts reads the mount table of every mount namespace: /proc/self first,
// then each process whose namespace (the target of /proc/PID/ns/mnt) was
// not seen yet. It keeps the mounts of known block devices. When no
// mountinfo can be read it falls back to /proc/self/mounts.
func (h Host) mounts(byDev map[string]string, devs map[string]devInfo) ([]Mount, error) {
	pids := []string{"self"}
	var numeric []int
	for _, n := range names(h.proc()) {
		if pid, err := strconv.Atoi(n); err == nil {
			numeric = append(numeric, pid)
		}
	}
	slices.Sort(numeric)
	for _, pid := range numeric {
		pids = append(pids, strconv.Itoa(pid))
	}
	seen := map[string]bool{}
	var out []Mount
	read := false
	dup := map[[2]string]bool{} // the same mount seen in several namespaces counts once
	for _, pid := range pids {
		ns, err := os.Readlink(h.proc(pid, "ns", "mnt"))
		if err == nil {
			if seen[ns] {
				continue
			}
			seen[ns] = true
		}
		f, err := os.Open(h.proc(pid, "mountinfo"))
		if err != nil {
			continue // the process exited, or it is not ours to read
		}
		raws, err := parseMountinfo(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read mounts of pid %s: %w", pid, err)
		}
		read = true
		n := 0
		if pid != "self" {
			n, _ = strconv.Atoi(pid)
		}
		for _, m := range h.toMounts(raws, n, byDev, devs) {
			if k := [2]string{m.Device, m.MountPoint}; !dup[k] {
				dup[k] = true
				out = append(out, m)
			}
		}
	}
	if read {
		return out, nil
	}
	f, err := os.Open(h.proc("self", "mounts"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	raws, err := parseMounts(f)
	if err != nil {
		return nil, err
	}
	return h.toMounts(raws, 0, byDev, devs), nil
}

// toMounts resolves raw mount lines to kernel names by major:minor and,
// failing that (btrfs reports an anonymous device), by the source path.
func (h Host) toMounts(raws []mountRaw, pid int, byDev map[string]string, devs map[string]devInfo) []Mount {
	var out []Mount
	for _, r := range raws {
		name := byDev[r.dev]
		if name == "" {
			name = h.resolve(r.source, devs)
		}
		if name == "" {
			continue
		}
		out = append(out, Mount{Device: name, MountPoint: r.mountPoint, FSType: r.fstype, PID: pid})
	}
	return out
}

// swaps lists the active swap areas from /proc/swaps.
func (h Host) swaps() ([]string, error) {
	f, err := os.Open(h.proc("swaps"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read swaps: %w", err)
	}
	defer f.Close()
	return parseSwaps(f)
}
