package dm

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// kernelLog follows the kernel log from the moment it was opened.
type kernelLog struct{ fd int }

// followKernelLog opens the kernel log device (/dev/kmsg) at its end. It
// returns nil if the log cannot be read; the caller then goes without the
// kernel's reasons.
func followKernelLog(path string) *kernelLog {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		unix.Close(fd)
		return nil
	}
	return &kernelLog{fd: fd}
}

// explain returns what the kernel logged since followKernelLog about
// device-mapper device dev, as "kernel: ...", to put after an error.
func (k *kernelLog) explain(dev Dev) string {
	if r := k.reasons(dev); r != "" {
		return "kernel: " + r
	}
	return "see the kernel log"
}

// reasons returns what the kernel logged since followKernelLog about
// device-mapper device dev, as one line, or "".
func (k *kernelLog) reasons(dev Dev) string {
	if k == nil {
		return ""
	}
	var msgs []string
	buf := make([]byte, 8192) // a record is at most about 1 KiB of text plus its dictionary
	for range 1000 {
		n, err := unix.Read(k.fd, buf)
		if errors.Is(err, unix.EPIPE) {
			continue // records were overwritten while we read; go on with the next
		}
		if err != nil || n <= 0 {
			break // EAGAIN: nothing more
		}
		if m := kmsgText(buf[:n]); m != "" {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(dmReasons(msgs, dev.String()), "; ")
}

func (k *kernelLog) close() {
	if k != nil {
		unix.Close(k.fd)
	}
}
