// Package mountinfo parses the kernel's mount and swap tables:
// /proc/PID/mountinfo, /proc/PID/mounts (fstab format) and /proc/swaps.
// It is pure code over io.Reader; callers choose which files to read.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Entry is one mounted filesystem. Fields missing from the table a parser
// reads (ID, Parent, Dev and Root in /proc/PID/mounts) are zero.
type Entry struct {
	ID, Parent int
	Dev        string // "MAJOR:MINOR" of the filesystem's device
	Root       string // the mounted directory within the filesystem
	MountPoint string
	FSType     string
	Source     string // e.g. "/dev/sda2"
}

// Unescape decodes the octal escapes (\040 for a space) the kernel writes in
// mount tables, /proc/swaps and /etc/exports.
func Unescape(s string) string {
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

// ParseMountinfo reads a /proc/PID/mountinfo table. A malformed line is an
// error naming it.
func ParseMountinfo(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		f := strings.Fields(sc.Text())
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
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || !strings.Contains(f[2], ":") {
			return nil, fmt.Errorf("parse mountinfo line %q: bad id or device", sc.Text())
		}
		out = append(out, Entry{ID: id, Parent: parent, Dev: f[2], Root: Unescape(f[3]),
			MountPoint: Unescape(f[4]), FSType: f[sep+1], Source: Unescape(f[sep+2])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// ParseMounts reads a /proc/PID/mounts table (fstab format); short lines
// are skipped.
func ParseMounts(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		out = append(out, Entry{Source: Unescape(f[0]), MountPoint: Unescape(f[1]), FSType: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return out, nil
}

// ParseSwaps reads /proc/swaps and returns the paths of the active areas.
func ParseSwaps(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 2 {
			continue // the header line
		}
		out = append(out, Unescape(f[0]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read swaps: %w", err)
	}
	return out, nil
}
