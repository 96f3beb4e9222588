package holders

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/disk/holders/internal/kscan"
	"simplecloud/internal/testutil"
)

// TestRootMappedProbe checks the answers of the mapped-files probe on a
// loop mount as mappings come and go, and that the BPF engine still finds
// a mapping of a closed file or of the device node once the probe has
// seen one.
func TestRootMappedProbe(t *testing.T) {
	needBPF(t)
	loop, mnt := loopMount(t)
	if err := os.WriteFile(filepath.Join(mnt, "f"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	s := testScanner(t)
	l, err := kscan.CachedLayout(s.log(), s.CacheDir, "/proc", "/sys")
	if err != nil {
		t.Fatal(err)
	}
	if !l.CanProbeMapped() {
		t.Skip("this kernel lacks the open-coded iterators the probe needs")
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		t.Fatal(err)
	}
	dev := Dev{unix.Major(st.Dev), unix.Minor(st.Dev)}
	// walked is the scanner's state when the probe runs: after the walk
	// of the devices from d.
	walked := func(d Dev) *scanState {
		t.Helper()
		st := newScanState()
		self, err := s.readTable(0, "self")
		if err != nil {
			t.Fatal(err)
		}
		st.tables = map[uint64]*table{st.selfNS: self}
		r := Report{Dev: d, Name: s.kname(d)}
		if err := s.devices(st, &r); err != nil {
			t.Fatal(err)
		}
		return st
	}
	probe := func(d Dev) int {
		t.Helper()
		return s.probeMapped(l, walked(d), []Dev{d})
	}
	mapHeld := func(engine string, pid int, path string) bool {
		t.Helper()
		s.Engine = engine
		defer func() { s.Engine = EngineAuto }()
		r, err := s.Scan(context.Background(), mnt)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(r.Processes, func(p Process) bool { return p.PID == pid })
		return i >= 0 && slices.ContainsFunc(r.Processes[i].Holds, func(h Hold) bool { return h.Kind == HoldMap && h.Path == path })
	}
	stop := func(c *exec.Cmd) {
		c.Process.Kill()
		c.Wait()
	}

	cwd := exec.Command("sleep", "1000")
	cwd.Dir = mnt
	start(t, cwd)
	if got := probe(dev); got != kscan.MappedNone {
		t.Errorf("a working directory and no mapping: probe says %d, want %d (nothing mapped)", got, kscan.MappedNone)
	}

	for _, path := range []string{filepath.Join(mnt, "f"), loop} {
		mm := startMapper(t, path)
		if got := probe(dev); got != kscan.MappedSome {
			t.Errorf("%s mapped: probe says %d, want %d", path, got, kscan.MappedSome)
		}
		for _, engine := range []string{EngineBPF, EngineProc} {
			if !mapHeld(engine, mm.Process.Pid, path) {
				t.Errorf("%s mapped by pid %d (its descriptor closed): the %s engine does not report the mapping", path, mm.Process.Pid, engine)
			}
		}
		stop(mm)
		if got := probe(dev); got != kscan.MappedNone {
			t.Errorf("%s unmapped again: probe says %d, want %d", path, got, kscan.MappedNone)
		}
	}

	// More inodes than the limit: no answer.
	for i := range 8 {
		if err := os.WriteFile(filepath.Join(mnt, fmt.Sprint("small", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.probeMappedLimit(l, walked(dev), []Dev{dev}, 4); got != kscan.MappedUnknown {
		t.Errorf("more inodes than the limit: probe says %d, want %d (cannot tell)", got, kscan.MappedUnknown)
	}
	if n := processCount("/proc"); n < 3 {
		t.Errorf("process count from /proc's links: %d", n)
	}

	// A device node on the filesystem maps its device, not its inode: the
	// probe cannot rule it out.
	node := filepath.Join(mnt, "null")
	if err := unix.Mknod(node, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if got := probe(dev); got != kscan.MappedSome {
		t.Errorf("a device node on the filesystem: probe says %d, want %d", got, kscan.MappedSome)
	}
	if err := os.Remove(node); err != nil {
		t.Fatal(err)
	}

	// A device mounted nowhere here and claimed by nothing may carry a
	// filesystem mounted in another namespace: no answer, walk.
	img := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	other := testutil.AttachLoop(t, img)
	var ost unix.Stat_t
	if err := unix.Stat(other, &ost); err != nil {
		t.Fatal(err)
	}
	if got := probe(Dev{unix.Major(ost.Rdev), unix.Minor(ost.Rdev)}); got != -1 {
		t.Errorf("an unmounted device: probe says %d, want -1 (cannot tell)", got)
	}
}
