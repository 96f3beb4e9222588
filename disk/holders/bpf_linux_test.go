package holders

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// needBPF skips unless the BPF engine can run here: root and a kernel
// that describes itself in BTF. Where both hold, the engine must work.
func needBPF(t *testing.T) {
	t.Helper()
	needRoot(t, "losetup", "mkfs.ext4", "mount", "unshare", "sleep", "sh")
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("the BPF engine needs the kernel's BTF: %v", err)
	}
}

// ownThread runs setup on a thread of the test process of its own (locked,
// and ended with its goroutine), and undo there when stop is called; doing
// names the setup in errors.
func ownThread(t *testing.T, doing string, setup, undo func() error) (tid int, stop func()) {
	t.Helper()
	ready, done := make(chan error), make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		err := setup()
		tid = unix.Gettid()
		ready <- err
		<-done
		ready <- undo()
	}()
	if err := <-ready; err != nil {
		t.Fatalf("%s: %v", doing, err)
	}
	return tid, func() {
		close(done)
		if err := <-ready; err != nil {
			t.Errorf("undo %s: %v", doing, err)
		}
	}
}

// threadCwd moves one thread of the test process into dir, alone
// (unshare(CLONE_FS)), until the returned function is called.
func threadCwd(t *testing.T, dir string) (tid int, stop func()) {
	t.Helper()
	return ownThread(t, "move a thread into "+dir, func() error {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return err
		}
		return unix.Chdir(dir)
	}, func() error {
		// Leave dir before the thread goes: it exits after the goroutine
		// does, and the mount must be free for the cleanup's unmount.
		return unix.Chdir("/")
	})
}

// holdSet renders a process's holds for comparison.
func holdSet(p Process) []string {
	var out []string
	for _, h := range p.Holds {
		out = append(out, fmt.Sprintf("%s %s fd=%d %s", h.Kind, h.Path, h.FD, h.Dev))
	}
	slices.Sort(out)
	return out
}

// TestRootEnginesAgree runs the BPF and /proc engines over the same
// holders (cwd, fd, a mapping of a closed file, a second mount namespace,
// an open device node) and checks that they report the same processes in
// the same detail, including a thread whose own working directory (after
// unshare(CLONE_FS)) is on the device.
func TestRootEnginesAgree(t *testing.T) {
	needBPF(t)
	loop, mnt := loopMount(t)
	want := holderSet(t, mnt)
	node := start(t, exec.Command("sh", "-c", `exec 3<"$1"; exec sleep 1000`, "sh", loop))
	scanUntil(t, mnt, want)
	tid, stop := threadCwd(t, mnt)
	defer stop()
	// Paths are read once per mount and dentry: working directories in
	// another directory of the same mount, and in the same directory seen
	// through a bind mount, must keep their own paths.
	sub, bind := filepath.Join(mnt, "sub"), filepath.Join(t.TempDir(), "bind")
	for _, d := range []string{sub, bind} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runOrFail(t, "mount", "--bind", sub, bind)
	t.Cleanup(func() { exec.Command("umount", bind).Run() })
	cwds := map[int]string{}
	for _, d := range []string{sub, bind, sub} {
		c := exec.Command("sleep", "1000")
		c.Dir = d
		cwds[start(t, c).Process.Pid] = d
	}

	scan := func(engine string) Report {
		s := testScanner(t)
		s.Engine = engine
		r, err := s.Scan(context.Background(), mnt)
		if err != nil {
			t.Fatalf("scan with engine %q: %v", engine, err)
		}
		return r
	}
	bpf, proc := scan(EngineBPF), scan(EngineProc)
	byPID := map[int]Process{}
	for _, p := range bpf.Processes {
		byPID[p.PID] = p
	}
	for _, p := range proc.Processes {
		b, ok := byPID[p.PID]
		if !ok {
			t.Errorf("pid %d (%s): found by /proc, not by BPF", p.PID, p.Command)
			continue
		}
		if got, want := holdSet(b), holdSet(p); !slices.Equal(got, want) {
			t.Errorf("pid %d holds:\nBPF   %s\n/proc %s", p.PID, strings.Join(got, "; "), strings.Join(want, "; "))
		}
		b.Holds, p.Holds = nil, nil
		if b.PID != p.PID || b.UID != p.UID || b.User != p.User || b.Command != p.Command ||
			b.Unit != p.Unit || b.MountNS != p.MountNS || b.StartTime != p.StartTime {
			t.Errorf("pid %d:\nBPF   %+v\n/proc %+v", p.PID, b, p)
		}
	}
	if p, ok := byPID[node.Process.Pid]; !ok || !slices.ContainsFunc(p.Holds, func(h Hold) bool {
		return h.Kind == HoldFD && h.Path == loop && h.FD == 3
	}) {
		t.Errorf("BPF engine: pid %d with %s open as fd 3 missing: %+v", node.Process.Pid, loop, p)
	}
	for pid, dir := range cwds {
		if p, ok := byPID[pid]; !ok || !slices.ContainsFunc(p.Holds, func(h Hold) bool { return h.Kind == HoldCwd && h.Path == dir }) {
			t.Errorf("BPF engine: pid %d with its cwd in %s missing or wrong: %+v", pid, dir, p)
		}
	}
	if len(bpf.Processes) != len(proc.Processes) {
		t.Errorf("BPF found %d processes, /proc %d", len(bpf.Processes), len(proc.Processes))
	}
	for _, r := range []Report{bpf, proc} {
		i := slices.IndexFunc(r.Processes, func(p Process) bool { return p.PID == os.Getpid() })
		if i < 0 || !slices.ContainsFunc(r.Processes[i].Holds, func(h Hold) bool { return h.Kind == HoldCwd && h.Path == mnt }) {
			t.Errorf("the test process, whose thread %d has its cwd in %s, is missing or lacks the cwd: %+v", tid, mnt, r.Processes)
		}
	}
	if len(bpf.Warnings) > 0 {
		t.Errorf("BPF engine warnings: %v", bpf.Warnings)
	}
}

// TestEngineUnavailable checks that the BPF engine says what it lacks,
// and fails rather than fall back when asked for by name.
func TestEngineUnavailable(t *testing.T) {
	s := testScanner(t)
	s.SysDir, s.Engine = t.TempDir(), EngineBPF
	st := newScanState()
	if _, err := s.tryBPF(st, []Dev{{7, 0}}); err == nil || !strings.Contains(err.Error(), "BTF") {
		t.Errorf("BPF scan without BTF: got %v, want an error about BTF", err)
	}
	for _, name := range []string{"auto", "", "proc", "bpf"} {
		if _, err := ParseEngine(name); err != nil {
			t.Errorf("ParseEngine(%q): %v", name, err)
		}
	}
	if _, err := ParseEngine("ebpf"); err == nil {
		t.Error("ParseEngine(ebpf): got no error")
	}
}

// threadFD gives a thread of the test process a descriptor table of its
// own (unshare(CLONE_FILES)) with path open in it, and returns the thread
// and the descriptor; stop closes it and ends the thread.
func threadFD(t *testing.T, path string) (tid, fd int, stop func()) {
	t.Helper()
	tid, stop = ownThread(t, "open "+path+" in a thread with its own descriptor table", func() (err error) {
		if err = unix.Unshare(unix.CLONE_FILES); err == nil {
			fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		}
		return err
	}, func() error { return unix.Close(fd) })
	return tid, fd, stop
}

// TestRootThreadOwnFDs checks that the BPF engine finds a file open only in
// the descriptor table of a thread that has its own, and reads its path
// from that thread's fd directory (the process's has no such descriptor,
// or another file under that number).
func TestRootThreadOwnFDs(t *testing.T) {
	needBPF(t)
	_, mnt := loopMount(t)
	f := filepath.Join(mnt, "only-in-thread")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tid, fd, stop := threadFD(t, f)
	defer stop()
	s := testScanner(t)
	s.Engine = EngineBPF
	r, err := s.Scan(context.Background(), mnt)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(r.Processes, func(p Process) bool { return p.PID == os.Getpid() })
	if i < 0 || !slices.ContainsFunc(r.Processes[i].Holds, func(h Hold) bool {
		return h.Kind == HoldFD && h.FD == fd && h.Path == f
	}) {
		t.Errorf("thread %d with %s open as fd %d in its own table: not reported: %+v", tid, f, fd, r.Processes)
	}
}
