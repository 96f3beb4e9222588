package holders

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as a helper process instead of
// running tests: "mmap:PATH" maps PATH and waits for stdin to close.
const helperEnv = "HOLDERS_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	p, ok := strings.CutPrefix(h, "mmap:")
	if !ok {
		return 2
	}
	f, err := os.Open(p)
	if err != nil {
		return 3
	}
	b, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 4
	}
	f.Close()
	os.Stdout.WriteString("mapped\n")
	var buf [1]byte
	os.Stdin.Read(buf[:]) // until the test closes our stdin or kills us
	_ = unix.Munmap(b)
	return 0
}

func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	testutil.NeedRoot(t, tools...) // loop devices, mounts, namespaces
}

func runOrFail(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// loopMount makes a 32 MiB ext4 image, attaches it to a loop device and
// mounts it; cleanup undoes whatever is still in place.
func loopMount(t *testing.T) (loop, mnt string) {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	runOrFail(t, "mkfs.ext4", "-q", "-F", img)
	loop = testutil.AttachLoop(t, img)
	mnt = filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	runOrFail(t, "mount", loop, mnt)
	t.Cleanup(func() {
		for unix.Unmount(mnt, 0) == nil {
		}
	})
	return loop, mnt
}

// start runs a holder process and kills it at cleanup.
func start(t *testing.T, c *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatalf("start %v: %v", c.Args, err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
	return c
}

// holderSet starts the four holders of the root tests on mnt and returns
// their pids by role.
func holderSet(t *testing.T, mnt string) map[string]int {
	t.Helper()
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte(strings.Repeat("x", 4096)), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd := exec.Command("sleep", "1000")
	cwd.Dir = mnt
	start(t, cwd)
	fd := start(t, exec.Command("sh", "-c", `exec 3<"$1"; exec sleep 1000`, "sh", filepath.Join(mnt, "f")))
	mm := startMapper(t, filepath.Join(mnt, "f"))
	ns := start(t, exec.Command("unshare", "-m", "--propagation", "private", "sleep", "1000"))
	return map[string]int{"cwd": cwd.Process.Pid, "fd": fd.Process.Pid, "map": mm.Process.Pid, "mount-ns": ns.Process.Pid}
}

// startMapper starts a process that maps the first page of path and
// closes its descriptor, and returns once the mapping is made; killing the
// process (and waiting) removes it.
func startMapper(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	mm := exec.Command(os.Args[0], "-test.run=^$")
	mm.Env = append(os.Environ(), helperEnv+"=mmap:"+path)
	stdin, err := mm.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	out, err := mm.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start(t, mm)
	var buf [7]byte
	if _, err := out.Read(buf[:]); err != nil || string(buf[:]) != "mapped\n" {
		t.Fatalf("mmap helper on %s: got %q, %v; want \"mapped\\n\"", path, buf, err)
	}
	return mm
}

// scanUntil scans target until every pid in want holds it in the expected
// way, or the deadline passes; it returns the last report.
func scanUntil(t *testing.T, target string, want map[string]int) Report {
	t.Helper()
	s := testScanner(t)
	var r Report
	testutil.Eventually(t, 10*time.Second, func() error {
		var err error
		if r, err = s.Scan(context.Background(), target); err != nil {
			t.Fatal(err)
		}
		if missing := missingHolders(r, want); len(missing) > 0 {
			return fmt.Errorf("holders of %s: missing %v; got processes %+v", target, missing, r.Processes)
		}
		return nil
	})
	return r
}

func missingHolders(r Report, want map[string]int) []string {
	var missing []string
	for kind, pid := range want {
		i := slices.IndexFunc(r.Processes, func(p Process) bool { return p.PID == pid })
		if i < 0 || !slices.ContainsFunc(r.Processes[i].Holds, func(h Hold) bool { return h.Kind == kind }) {
			missing = append(missing, kind+" "+strconv.Itoa(pid))
		}
	}
	slices.Sort(missing)
	return missing
}

func TestRootScanLoopMount(t *testing.T) {
	needRoot(t, "losetup", "mkfs.ext4", "mount", "unshare", "sleep", "sh")
	loop, mnt := loopMount(t)
	// A tmpfs inside the mount (copied into the second namespace too) has
	// to be unmounted first there and here.
	sub := filepath.Join(mnt, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	runOrFail(t, "mount", "-t", "tmpfs", "tmpfs", sub)
	t.Cleanup(func() { unix.Unmount(sub, 0) })
	want := holderSet(t, mnt)
	var st unix.Stat_t
	if err := unix.Stat(loop, &st); err != nil {
		t.Fatal(err)
	}
	dev := Dev{unix.Major(st.Rdev), unix.Minor(st.Rdev)}
	for _, target := range []string{mnt, loop, dev.String(), filepath.Base(loop)} {
		r := scanUntil(t, target, want)
		if r.Dev != dev {
			t.Errorf("%s: got device %s, want %s", target, r.Dev, dev)
		}
		var other *Mount
		for i, m := range r.Mounts {
			if !m.Initial {
				other = &r.Mounts[i]
			}
		}
		if len(r.Mounts) != 4 || other == nil || !slices.Contains(other.PIDs, want["mount-ns"]) {
			t.Errorf("%s: got mounts %+v, want it and the tmpfs inside here and in the namespace of pid %d", target, r.Mounts, want["mount-ns"])
		}
	}

	// Close-style teardown: stop the processes (the namespace's sleeper
	// is left running: unmounting there frees it), unmount in both
	// namespaces, then detach the loop device.
	r := scanUntil(t, mnt, want)
	p, err := MakePlan(r, PlanOptions{Self: os.Getpid(), Kill: true, Grace: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range p.Steps {
		kinds = append(kinds, st.Kind)
	}
	if w := []string{StepSignal, StepSignal, StepSignal, StepUnmount, StepUnmount, StepUnmount, StepUnmount}; !slices.Equal(kinds, w) {
		t.Fatalf("got plan %q, want %q", kinds, w)
	}
	ops := NewLinuxOps()
	res := (&Applier{Ops: ops}).Apply(context.Background(), p)
	if !res.OK() {
		t.Fatalf("apply: %+v", res.Outcomes)
	}
	for _, o := range res.Outcomes[:3] {
		if o.Detail != "exited after SIGTERM" {
			t.Errorf("pid %d: got %q, want exited after SIGTERM", o.Step.PIDs[0], o.Detail)
		}
	}
	waitFree(t, dev.String())
	nsInfo, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", want["mount-ns"]))
	if err != nil {
		t.Fatalf("the namespace's sleeper should still run: %v", err)
	}
	if strings.Contains(string(nsInfo), mnt) || strings.Contains(string(nsInfo), sub) {
		t.Errorf("%s is still mounted in the second namespace", mnt)
	}
	if err := ops.DetachLoop(filepath.Base(loop)); err != nil {
		t.Errorf("detach %s: %v", loop, err)
	}
}

// TestRootScanDetached: after umount -l the filesystem lives on, detached,
// while a process keeps a file open; its path no longer names the mount,
// and the scan must still find the process (by stat).
func TestRootScanDetached(t *testing.T) {
	needRoot(t, "losetup", "mkfs.ext4", "mount", "umount", "sleep", "sh")
	loop, mnt := loopMount(t)
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd := start(t, exec.Command("sh", "-c", `exec 3<"$1"; exec sleep 1000`, "sh", filepath.Join(mnt, "f")))
	want := map[string]int{"fd": fd.Process.Pid}
	scanUntil(t, loop, want)
	runOrFail(t, "umount", "-l", mnt)
	r := scanUntil(t, loop, want)
	if len(r.Mounts) != 0 {
		t.Errorf("got mounts %+v after umount -l, want none", r.Mounts)
	}
	p, err := MakePlan(r, PlanOptions{Self: os.Getpid(), Grace: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res := (&Applier{Ops: NewLinuxOps()}).Apply(context.Background(), p)
	if !res.OK() || len(res.Outcomes) != 1 {
		t.Fatalf("apply: %+v", res.Outcomes)
	}
	// With its last user gone the detached filesystem goes, and the loop
	// device can be detached.
	if err := NewLinuxOps().DetachLoop(filepath.Base(loop)); err != nil {
		t.Error(err)
	}
}

// TestRootSwapAndLoop: a swap file and a loop device backed by a file on
// the mount are found, and swapoff, detach and unmount free it.
func TestRootSwapAndLoop(t *testing.T) {
	needRoot(t, "losetup", "mkfs.ext4", "mount", "mkswap", "swapon", "swapoff")
	loop, mnt := loopMount(t)
	swap := filepath.Join(mnt, "swapfile")
	img := filepath.Join(mnt, "inner.img")
	for _, f := range []string{swap, img} {
		if err := os.WriteFile(f, make([]byte, 4<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runOrFail(t, "mkswap", swap)
	if out, err := exec.Command("swapon", swap).CombinedOutput(); err != nil {
		t.Skipf("swapon is not allowed here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("swapoff", swap).Run() })
	inner := testutil.AttachLoop(t, img)

	// Other tests running at the same time (a disk listing probes every
	// block device with an exclusive open) may hold the loop device for a
	// moment: scan until no process does.
	var r Report
	testutil.Eventually(t, 10*time.Second, func() error {
		var err error
		if r, err = testScanner(t).Scan(context.Background(), loop); err != nil {
			t.Fatal(err)
		}
		if len(r.Processes) > 0 {
			return fmt.Errorf("processes hold %s: %+v", loop, r.Processes)
		}
		return nil
	})
	if len(r.Swaps) != 1 || r.Swaps[0].Path != swap {
		t.Errorf("got swaps %+v, want %s", r.Swaps, swap)
	}
	if len(r.Loops) != 1 || "/dev/"+r.Loops[0].Name != inner || r.Loops[0].BackingFile != img {
		t.Errorf("got loops %+v, want %s backed by %s", r.Loops, inner, img)
	}
	p, err := MakePlan(r, PlanOptions{Self: os.Getpid(), Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.Kind)
	}
	if w := []string{StepLoop, StepSwapoff, StepUnmount}; !slices.Equal(got, w) {
		t.Fatalf("got plan %q, want %q", got, w)
	}
	res := (&Applier{Ops: NewLinuxOps()}).Apply(context.Background(), p)
	if !res.OK() {
		t.Fatalf("apply: %+v", res.Outcomes)
	}
	waitFree(t, loop)
}

// waitFree checks that nothing holds target after an apply. A disk listing
// in another test (it probes every block device with an exclusive open) may
// hold the device for a moment, so a process is waited for; anything apply
// should have freed must be gone at once.
func waitFree(t *testing.T, target string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		after, err := testScanner(t).Scan(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Swaps)+len(after.Loops)+len(after.Mounts)+len(after.Stacked) > 0 {
			t.Fatalf("apply left holders: %+v", after)
		}
		if after.Busy() {
			return fmt.Errorf("still busy after apply: %+v", after)
		}
		return nil
	})
}

// testScanner is a scanner of the running system that keeps its BPF
// layout cache in the test's temporary directory, not in /run.
func testScanner(t *testing.T) *Scanner {
	s := NewScanner(nil)
	s.CacheDir = t.TempDir()
	return s
}

// TestRootUnmountInReturns unmounts in another mount namespace and checks
// that the thread that did it is back in its own namespace: a locked
// thread that exits is parked for good when it is the main thread, and
// the main thread's namespace is the one /proc/self/ns/mnt shows.
func TestRootUnmountInReturns(t *testing.T) {
	needRoot(t, "losetup", "mkfs.ext4", "mount", "unshare", "sleep")
	_, mnt := loopMount(t)
	other := start(t, exec.Command("unshare", "-m", "--propagation", "private", "sleep", "1000"))
	nsPath := "/proc/" + strconv.Itoa(other.Process.Pid) + "/ns/mnt"
	self, _ := os.Readlink("/proc/self/ns/mnt")
	var st unix.Stat_t
	testutil.Eventually(t, 10*time.Second, func() error {
		if l, _ := os.Readlink(nsPath); l != "" && l != self && unix.Stat(nsPath, &st) == nil {
			return nil
		}
		return errors.New("unshare -m did not make a namespace")
	})
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread has a filesystem context of its own now
		before, _ := os.Readlink("/proc/thread-self/ns/mnt")
		err := unmountIn(nsPath, st.Ino, mnt)
		if after, _ := os.Readlink("/proc/thread-self/ns/mnt"); err == nil && after != before {
			err = fmt.Errorf("the thread is left in %s, it was in %s", after, before)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(other.Process.Pid) + "/mountinfo")
	if err != nil || strings.Contains(string(b), " "+mnt+" ") {
		t.Errorf("%s still mounted in the other namespace (%v)", mnt, err)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); !strings.Contains(string(b), " "+mnt+" ") {
		t.Errorf("%s unmounted here too; want only in the other namespace", mnt)
	}
}
