package disk

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mountRaw is one line of a mount table before its device is resolved to
// a kernel name.
type mountRaw struct {
	dev        string // major:minor; empty from /proc/*/mounts
	source     string // e.g. "/dev/sda2"
	mountPoint string
	fstype     string
}

// unescapeMount decodes the octal escapes (\040 for a space) the kernel
// writes in mount tables and /proc/swaps.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseMountinfo reads a /proc/PID/mountinfo table.
func parseMountinfo(r io.Reader) ([]mountRaw, error) {
	var out []mountRaw
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("parse mountinfo line %q: too few fields", sc.Text())
		}
		out = append(out, mountRaw{
			dev:        f[2],
			mountPoint: unescapeMount(f[4]),
			fstype:     f[sep+1],
			source:     unescapeMount(f[sep+2]),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// parseMounts reads a /proc/PID/mounts (fstab format) table.
func parseMounts(r io.Reader) ([]mountRaw, error) {
	var out []mountRaw
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		out = append(out, mountRaw{source: unescapeMount(f[0]), mountPoint: unescapeMount(f[1]), fstype: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return out, nil
}

// parseSwaps reads /proc/swaps and returns the swap areas in use.
func parseSwaps(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 2 {
			continue // the header line
		}
		out = append(out, unescapeMount(f[0]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read swaps: %w", err)
	}
	return out, nil
}
