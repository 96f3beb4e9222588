package disk

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// probeLockPath is the lock the discoveries of one machine take turns on
// while they probe its disks.
const probeLockPath = "/run/simplecloud-disk-probe.lock"

// probeLockWait bounds the wait for another discovery's probes; past it a
// discovery probes anyway (openExclusive's retry still covers a short
// overlap) rather than hang behind one that is stuck.
const probeLockWait = 20 * time.Second

// lockProbes takes the probe lock at path and returns what releases it.
// Each exclusive open of a probe makes the disk look busy to any other
// discovery at that moment: the appliance runs the installer on two
// consoles at once, and under emulation on a loaded host one probe held the
// blank data disk longer than exclusiveRetry, so the other installer
// offered no disk at all. Taking turns, neither sees the other's probe.
// Where the lock cannot be made (no /run, not root) it returns at once and
// the discovery goes on without it.
func lockProbes(path string, wait time.Duration) (unlock func()) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return func() {}
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() } // closing the file releases the lock
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR || time.Now().After(deadline) {
			f.Close()
			return func() {}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
