package holders

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"simplecloud/internal/cmdrun"
)

// LinuxOps is the real Ops. Its directories stand for /proc, /sys and /dev.
type LinuxOps struct {
	ProcDir, SysDir, DevDir string
}

// NewLinuxOps returns Ops on the running system.
func NewLinuxOps() *LinuxOps { return &LinuxOps{ProcDir: "/proc", SysDir: "/sys", DevDir: "/dev"} }

// SystemdRunning reports whether systemd is the init system (as
// sd_booted(3) decides).
func SystemdRunning() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// Ancestors returns the parent, grandparent and so on of pid, up to but
// not including pid 1, from /proc/PID/stat.
func (o *LinuxOps) Ancestors(pid int) []int {
	var out []int
	for n := 0; n < 64; n++ {
		b, err := os.ReadFile(filepath.Join(o.ProcDir, strconv.Itoa(pid), "stat"))
		if err != nil {
			return out
		}
		ppid, err := parsePPID(b)
		if err != nil || ppid <= 1 {
			return out
		}
		out = append(out, ppid)
		pid = ppid
	}
	return out
}

type pidfdProc struct {
	fd  int
	pid int
}

// OpenProcess opens a pidfd for pid and then checks that /proc/PID/stat
// still shows the start time the scan saw: if it does, the pidfd refers to
// that very process (a pidfd cannot change which process it refers to).
func (o *LinuxOps) OpenProcess(pid int, start uint64) (Proc, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil, ErrGone
	} else if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	b, err := os.ReadFile(filepath.Join(o.ProcDir, strconv.Itoa(pid), "stat"))
	if err != nil {
		unix.Close(fd)
		return nil, ErrGone
	}
	if got, err := parseStartTime(b); err != nil || (start != 0 && got != start) {
		unix.Close(fd)
		return nil, ErrGone // the pid now names another process
	}
	return &pidfdProc{fd: fd, pid: pid}, nil
}

func (p *pidfdProc) Signal(sig syscall.Signal) error {
	if err := unix.PidfdSendSignal(p.fd, sig, nil, 0); err != nil {
		return fmt.Errorf("pidfd_send_signal %d %v: %w", p.pid, sig, err)
	}
	return nil
}

// Wait polls the pidfd, which becomes readable when the process exits.
func (p *pidfdProc) Wait(ctx context.Context) bool {
	for {
		ms := 0
		if dl, ok := ctx.Deadline(); ok {
			ms = int(min(time.Until(dl).Milliseconds(), 100))
		} else if ctx.Err() == nil {
			ms = 100
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, max(ms, 0))
		if err == nil && n > 0 {
			return true
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
		if ctx.Err() != nil || ms <= 0 {
			return false
		}
	}
}

func (p *pidfdProc) Close() error { return unix.Close(p.fd) }

// StopUnit stops a systemd unit with systemctl.
func (o *LinuxOps) StopUnit(ctx context.Context, unit string) error {
	return cmdrun.Cmd{Name: "systemctl", Args: []string{"stop", "--", unit}}.Run(ctx)
}

// Unmount unmounts without MNT_DETACH: a lazy unmount would leave the
// filesystem (and the device) in use while looking done. In another
// namespace it enters the namespace on a thread of its own.
func (o *LinuxOps) Unmount(mountPoint string, initial bool, ns uint64, nsPID int) error {
	if initial {
		return umount(mountPoint)
	}
	nsPath := filepath.Join(o.ProcDir, strconv.Itoa(nsPID), "ns", "mnt")
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it has a filesystem context of its
		// own, and it must not run other goroutines while in the other
		// namespace. The runtime ends a locked thread when its goroutine
		// exits, except the main thread, which it parks for good; so the
		// thread goes back to the process's namespace first (the main
		// thread's namespace is what /proc/self/ns/mnt shows).
		runtime.LockOSThread()
		errc <- unmountIn(nsPath, ns, mountPoint)
	}()
	return <-errc
}

func unmountIn(nsPath string, ns uint64, mountPoint string) (err error) {
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open mount namespace %d: %w", ns, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Ino != ns {
		return fmt.Errorf("enter mount namespace %d: %s now names another namespace", ns, nsPath)
	}
	home, err := unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open own mount namespace: %w", err)
	}
	defer unix.Close(home)
	// setns into a mount namespace needs a filesystem context (root, cwd)
	// not shared with the other threads of the process.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare filesystem context: %w", err)
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter mount namespace %d: %w", ns, err)
	}
	defer func() {
		if e := unix.Setns(home, unix.CLONE_NEWNS); e != nil && err == nil {
			err = fmt.Errorf("return from mount namespace %d: %w", ns, e)
		}
	}()
	if err := umount(mountPoint); err != nil {
		return fmt.Errorf("in mount namespace %d: %w", ns, err)
	}
	return nil
}

func umount(mountPoint string) error {
	err := unix.Unmount(mountPoint, 0)
	if err == nil || errors.Is(err, unix.EINVAL) {
		return nil // EINVAL: not a mount point (any more), e.g. gone through propagation
	}
	return fmt.Errorf("unmount %s: %w", mountPoint, err)
}

// Swapoff stops swapping on path.
func (o *LinuxOps) Swapoff(path string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_SWAPOFF, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
		return fmt.Errorf("swapoff %s: %w", path, e)
	}
	return nil
}

// DetachLoop detaches a loop device and waits until sysfs shows it free:
// the kernel only marks a loop device that is still open for detaching on
// its last close, and that does not count.
func (o *LinuxOps) DetachLoop(name string) error {
	fd, err := unix.Open(filepath.Join(o.DevDir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("detach loop %s: %w", name, err)
	}
	err = unix.IoctlSetInt(fd, unix.LOOP_CLR_FD, 0)
	unix.Close(fd)
	if err != nil && !errors.Is(err, unix.ENXIO) { // ENXIO: not attached
		return fmt.Errorf("detach loop %s: %w", name, err)
	}
	backing := filepath.Join(o.SysDir, "class", "block", name, "loop", "backing_file")
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := os.Stat(backing); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("detach loop %s: still attached (something still has it open)", name)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// StopMD stops an md array with mdadm.
func (o *LinuxOps) StopMD(ctx context.Context, name string) error {
	return cmdrun.Cmd{Name: "mdadm", Args: []string{"--stop", filepath.Join(o.DevDir, name)}}.Run(ctx)
}
