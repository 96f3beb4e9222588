package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"simplecloud/images/agent"
)

// runAgent serves the command channel on the device dev: a virtio port, or a
// serial line (made raw).
func runAgent(dev string) error {
	// Blocking I/O, outside Go's poller: the channel then relies on the
	// driver's read and write alone, not also on its poll wake-ups.
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open agent port %s: %w", dev, err)
	}
	f := os.NewFile(uintptr(fd), dev)
	defer f.Close()
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
		if err := makeRaw(int(f.Fd())); err != nil {
			return fmt.Errorf("set agent port raw: %w", err)
		}
	}
	// exec.Command looks programs up in the agent's own PATH.
	for _, kv := range agent.DefaultEnv {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	s := &agent.Server{Console: consoleDev, Poweroff: poweroff}
	return s.Serve(f, agent.Response{Kernel: unix.ByteSliceToString(uts.Release[:])})
}

// makeRaw puts the terminal fd in raw mode: no echo, no line editing, no
// translation of bytes, 8 bits.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	t.Ispeed, t.Ospeed = unix.B115200, unix.B115200
	t.Cflag = t.Cflag&^unix.CBAUD | unix.B115200
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
