package luks

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Limits returns the argon2 ceilings for this machine: memory at most
// DefaultMaxMemoryKiB and at most half of MemAvailable (cryptsetup's
// default gets small machines OOM-killed), threads min(4, CPUs).
func Limits() (maxMemoryKiB, threads int) {
	maxMemoryKiB = DefaultMaxMemoryKiB
	if avail := memAvailableKiB(); avail > 0 {
		maxMemoryKiB = min(maxMemoryKiB, avail/2)
	}
	return max(maxMemoryKiB, minArgonMemoryKiB), min(DefaultMaxThreads, runtime.NumCPU())
}

// memAvailableKiB reads MemAvailable from /proc/meminfo; 0 when unknown.
func memAvailableKiB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fs := strings.Fields(s.Text())
		if len(fs) >= 2 && fs[0] == "MemAvailable:" {
			n, _ := strconv.Atoi(fs[1])
			return n
		}
	}
	return 0
}
