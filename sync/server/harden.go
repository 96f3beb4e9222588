package server

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Defence in depth for the connection child, which runs as the user once
// authenticated. Beside the ids (conn_drop.go) it gets:
//
//   - no_new_privs on every thread, from its first instruction: the parent
//     forks it from a thread that has it set (startConfined), and a child
//     and every thread it makes inherit it. An exec can then gain nothing:
//     no set-user-id or set-group-id bit and no file capability counts.
//     As root, before the drop, it takes nothing from the programs PAM
//     modules may run: they still get root's capabilities (only a helper
//     that relies on its own set-user-id bit to become another user, or
//     on an SELinux domain change, would notice).
//   - an empty capability bounding set and no ambient capabilities, set
//     right before setuid (confine), once authentication, PAM and making
//     the user's root are done, which need full root.
//   - no descriptor but its own: the parent marks every descriptor it
//     holds close-on-exec before it forks (closeOnExecAll), and the child
//     closes any descriptor above DirtyFD without the flag (closeStray).

// startConfined starts cmd from an OS thread of its own with no_new_privs
// set, so that the child inherits it on every thread it will ever have,
// in the pure-Go and the cgo build alike. The thread stays locked, so the
// runtime ends it with the goroutine instead of reusing it. Before the
// fork it marks every descriptor from 3 up close-on-exec, so that the child
// gets cmd's files (0-2 and ExtraFiles) and nothing else.
func startConfined(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- fmt.Errorf("set no_new_privs: %w", err)
			return
		}
		if err := closeOnExecAll("/proc/self/fd"); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// closeOnExecAll marks every descriptor from 3 up close-on-exec, so that
// none the process inherited without the flag (from systemd, a shell, a
// test harness) passes on through an exec. Go opens its own descriptors
// close-on-exec already, and os/exec clears the flag on the copies it puts
// in place for the child, so nothing else changes. Kernels before 5.11 lack
// CLOSE_RANGE_CLOEXEC: then every descriptor listed in fdDir is marked
// one by one.
func closeOnExecAll(fdDir string) error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("mark descriptors close-on-exec: %w", err)
	}
	return markCloseOnExec(fdDir, 3)
}

// markCloseOnExec marks every descriptor from min up that fdDir lists
// close-on-exec, one by one.
func markCloseOnExec(fdDir string, min int) error {
	return eachFD(fdDir, min, func(fd int, flags int) error {
		if flags&unix.FD_CLOEXEC != 0 {
			return nil
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("mark descriptor %d close-on-exec: %w", fd, err)
		}
		return nil
	})
}

// closeStray closes every descriptor of the process from min up that is
// not close-on-exec. The runtime opens its own with the flag, so in a
// connection child such a descriptor came in through the exec without
// being meant for it.
func closeStray(fdDir string, min int) error {
	return eachFD(fdDir, min, func(fd int, flags int) error {
		if flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
		return nil
	})
}

// eachFD calls fn with every open descriptor from min up that fdDir (a
// /proc/PID/fd directory) lists, and its F_GETFD flags.
func eachFD(fdDir string, min int, fn func(fd, flags int) error) error {
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < min {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			continue // the directory's own descriptor, closed by now
		}
		if err := fn(fd, flags); err != nil {
			return err
		}
	}
	return nil
}

// confine sets no_new_privs, clears the ambient capabilities and empties
// the capability bounding set, on every thread of the process when the
// runtime can do that (syscall.AllThreadsSyscall, in the pure-Go build);
// it reports whether it could. The process keeps its permitted and
// effective capabilities: setuid, which comes next, clears those.
//
// With cgo (the PAM build) AllThreadsSyscall is refused, since threads
// made by C code are unknown to the runtime, and libc has no all-threads
// prctl. Then the calls apply to the calling thread only, and the other
// threads keep the full bounding set. That is still safe: once every
// thread has setuid to a uid other than 0 (which libc applies to all
// threads), the permitted, effective and ambient sets are empty, and with
// no_new_privs, inherited on every thread from the parent, no exec can
// gain a capability or another uid, so a bounding set has nothing left to
// bound.
func confine() (allThreads bool, err error) {
	last, err := lastCap()
	if err != nil {
		return false, err
	}
	calls := [][2]uintptr{
		{unix.PR_SET_NO_NEW_PRIVS, 1},
		{unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL},
	}
	for c := 0; c <= last; c++ {
		calls = append(calls, [2]uintptr{unix.PR_CAPBSET_DROP, uintptr(c)})
	}
	name := func(c [2]uintptr) string {
		switch c[0] {
		case unix.PR_SET_NO_NEW_PRIVS:
			return "set no_new_privs"
		case unix.PR_CAP_AMBIENT:
			return "clear ambient capabilities"
		}
		return fmt.Sprintf("drop capability %d from the bounding set", c[1])
	}
	allThreads = true
	for _, c := range calls {
		_, _, errno := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, c[0], c[1], 0, 0, 0, 0)
		if errno == syscall.ENOTSUP {
			allThreads = false
			break
		}
		if errno != 0 {
			return true, fmt.Errorf("%s: %w", name(c), errno)
		}
	}
	if allThreads {
		return true, nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, c := range calls {
		if err := unix.Prctl(int(c[0]), c[1], 0, 0, 0); err != nil {
			return false, fmt.Errorf("%s: %w", name(c), err)
		}
	}
	return false, nil
}

// lastCap returns the highest capability number the kernel knows: the
// first that PR_CAPBSET_READ refuses, less one.
func lastCap() (int, error) {
	for c := 0; c < 64; c++ {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			if c == 0 {
				return 0, errors.New("read the bounding set: no capability known")
			}
			return c - 1, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read the bounding set: %w", err)
		}
	}
	return 63, nil
}
