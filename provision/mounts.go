package provision

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		if len(f) >= 2 && unescapeMount(f[1]) == target {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
