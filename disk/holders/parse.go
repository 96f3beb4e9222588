package holders

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"simplecloud/internal/mountinfo"
)

// mountEntry is one line of /proc/PID/mountinfo.
type mountEntry struct {
	id, parent int
	dev        Dev
	root       string // root of the mount within its filesystem
	mountPoint string
	fstype     string
	source     string
}

// unescape decodes the octal escapes (\040 for a space) the kernel writes
// in mount tables and /proc/swaps.
func unescape(s string) string { return mountinfo.Unescape(s) }

// parseMountinfo reads a /proc/PID/mountinfo table.
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	es, err := mountinfo.ParseMountinfo(r)
	if err != nil {
		return nil, err
	}
	out := make([]mountEntry, 0, len(es))
	for _, e := range es {
		dev, err := ParseDev(e.Dev)
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo: %w", err)
		}
		out = append(out, mountEntry{id: e.ID, parent: e.Parent, dev: dev, root: e.Root,
			mountPoint: e.MountPoint, fstype: e.FSType, source: e.Source})
	}
	return out, nil
}

// parseSwaps reads /proc/swaps and returns the paths of the active areas.
func parseSwaps(r io.Reader) ([]string, error) { return mountinfo.ParseSwaps(r) }

// mapEntry is a file-backed line of /proc/PID/maps.
// mapKeeper decides whether a file mapping on device d at [start, end)
// is one to report, and on which device: a mapping of a device node lies
// on the filesystem of the node but maps the device.
type mapKeeper func(d Dev, start, end uint64) (Dev, bool)

type mapEntry struct {
	dev  Dev
	path string
}

// nextLine splits b after its first line (without the newline).
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseMaps returns the distinct files mapped in a /proc/PID/maps table
// that keep accepts (all when keep is nil), given the device each lies on
// as the kernel gives it (hexadecimal major:minor) and its address range;
// keep returns the device to report (see mapKeeper). Anonymous
// and special mappings are left out. Lines are split by hand: a process has
// dozens of them and only the device field matters for most.
func parseMaps(b []byte, keep mapKeeper) []mapEntry {
	var out []mapEntry
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		// address perms offset dev inode pathname
		rest := line
		var f [5][]byte
		ok := true
		for i := range f {
			rest = bytes.TrimLeft(rest, " ")
			j := bytes.IndexByte(rest, ' ')
			if j < 0 {
				ok = false
				break
			}
			f[i], rest = rest[:j], rest[j:]
		}
		if !ok || string(f[4]) == "0" {
			continue
		}
		maj, min, found := bytes.Cut(f[3], []byte{':'})
		a, err1 := strconv.ParseUint(string(maj), 16, 32)
		c, err2 := strconv.ParseUint(string(min), 16, 32)
		d := Dev{uint32(a), uint32(c)}
		if !found || err1 != nil || err2 != nil {
			continue
		}
		if keep != nil {
			lo, hi, _ := bytes.Cut(f[0], []byte{'-'})
			start, _ := strconv.ParseUint(string(lo), 16, 64)
			end, _ := strconv.ParseUint(string(hi), 16, 64)
			if d, ok = keep(d, start, end); !ok {
				continue
			}
		}
		e := mapEntry{dev: d, path: string(bytes.TrimLeft(rest, " "))}
		if e.path != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// parseUnit returns the systemd unit (a .service or .scope) a process
// belongs to, from /proc/PID/cgroup: the innermost unit on the unified
// hierarchy ("0::") or on the name=systemd one. Empty if there is none.
func parseUnit(b []byte) string {
	unit := ""
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		// hierarchy-ID:controllers:path
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		j := bytes.IndexByte(line[i+1:], ':')
		if j < 0 {
			continue
		}
		ctl, p := line[i+1:i+1+j], line[i+2+j:]
		if len(ctl) != 0 && string(ctl) != "name=systemd" {
			continue
		}
		if u := innermostUnit(p); u != "" {
			unit = u
			if len(ctl) == 0 {
				break // the unified hierarchy wins
			}
		}
	}
	return unit
}

// innermostUnit returns the last component of the cgroup path p that
// names a .service or .scope.
func innermostUnit(p []byte) string {
	for len(p) > 0 {
		i := bytes.LastIndexByte(p, '/')
		base := p[i+1:]
		if bytes.HasSuffix(base, []byte(".service")) || bytes.HasSuffix(base, []byte(".scope")) {
			return string(base)
		}
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// parseUID returns the real uid from /proc/PID/status.
func parseUID(b []byte) (int, error) {
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if rest, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
			if f := bytes.Fields(rest); len(f) > 0 {
				return strconv.Atoi(string(f[0]))
			}
		}
	}
	return 0, fmt.Errorf("no Uid line in status")
}

// parseStartTime returns field 22 (starttime) of /proc/PID/stat.
func parseStartTime(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stat: no command field")
	}
	f := strings.Fields(string(b[i+1:]))
	// After the command come fields 3 (state) onwards; starttime is 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("parse stat: %d fields after the command, want at least 20", len(f))
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// parsePPID returns field 4 (ppid) of /proc/PID/stat.
func parsePPID(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stat: no command field")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, fmt.Errorf("parse stat: no ppid field")
	}
	return strconv.Atoi(f[1])
}

// parseCmdline turns /proc/PID/cmdline into one line; comm is used for
// kernel threads and zombies, whose cmdline is empty.
func parseCmdline(b []byte, comm string) string {
	b = bytes.TrimRight(b, "\x00\n")
	if len(b) == 0 {
		if comm = strings.TrimSpace(comm); comm == "" {
			return "?"
		}
		return "[" + comm + "]"
	}
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

// parseNS reads the inode from a namespace link target such as
// "mnt:[4026531841]".
func parseNS(link string) (uint64, error) {
	_, rest, ok := strings.Cut(link, ":[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return 0, fmt.Errorf("parse namespace link %q", link)
	}
	return strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
}
