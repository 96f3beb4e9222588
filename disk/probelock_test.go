package disk

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// holdLock takes the lock at path through a file of its own, as another
// discovery would, and returns what releases it.
func holdLock(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// TestLockProbesTakesTurns: a discovery waits while another probes, and
// goes on once it is done.
func TestLockProbesTakesTurns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "probe.lock")
	release := holdLock(t, path)
	got := make(chan func(), 1)
	go func() { got <- lockProbes(path, time.Minute) }()
	select {
	case unlock := <-got:
		unlock()
		t.Fatal("lockProbes returned while another discovery held the lock")
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case unlock := <-got:
		// It holds the lock now: a third one cannot take it.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			t.Error("the lock was free while lockProbes held it")
		}
		unlock()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			t.Errorf("the lock after unlock: %v, want free", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lockProbes still waiting after the other discovery released the lock")
	}
}

// TestLockProbesGivesUp: behind a discovery that does not finish, or
// where no lock can be made, it goes on without the lock.
func TestLockProbesGivesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "probe.lock")
	defer holdLock(t, path)()
	start := time.Now()
	lockProbes(path, 200*time.Millisecond)()
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, want about 200ms", d)
	}
	start = time.Now()
	lockProbes(filepath.Join(t.TempDir(), "missing", "probe.lock"), time.Minute)()
	if d := time.Since(start); d > time.Second {
		t.Errorf("without a lock file it waited %v", d)
	}
}
