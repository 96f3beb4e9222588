package provision

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"simplecloud/internal/mountinfo"
)

// isMounted reports whether something is mounted at target, from
// Proc/self/mounts.
func (s *System) isMounted(target string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(s.Proc, "self", "mounts"))
	if err != nil {
		return false, fmt.Errorf("read mount table: %w", err)
	}
	return mountedIn(b, target), nil
}

// mountedIn reports whether the mount table text lists target as a mount
// point. Fields are octal-escaped (\040 for a space).
func mountedIn(table []byte, target string) bool {
	target = filepath.Clean(target)
	sc := bufio.NewScanner(bytes.NewReader(table))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && mountinfo.Unescape(f[1]) == target {
			return true
		}
	}
	return false
}
