// Package vm boots a Linux guest under qemu with software emulation and
// drives it: virtio disks with serial numbers, the console (a virtio console; read it,
// wait for text, type a line), a command channel to the guest agent (run a
// command, get its exit status and output), TCP ports forwarded to
// 127.0.0.1 only, and a hard lifetime after which the guest is killed.
//
// The guest must run images/guestinit as /init (see images.BuildGuest).
package vm

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Disk is a raw virtio disk.
type Disk struct {
	Path     string // image file; created sparse with Size bytes when empty or missing
	Size     int64
	Serial   string // virtio serial number (up to 20 bytes); default "scdiskN"
	ReadOnly bool
}

// Options configure a guest.
type Options struct {
	Kernel   string // bzImage
	Initrd   string // initramfs
	Dir      string // where disk images, sockets and the console log go (required)
	Disks    []Disk
	MemoryMB int   // default 1024
	CPUs     int   // default 2
	Forward  []int // guest TCP ports to forward from 127.0.0.1
	Append   string
	// Timeout is the guest's whole lifetime; it is killed when it passes
	// (default 15 minutes).
	Timeout time.Duration
	// BootTimeout bounds the wait for the agent (default 3 minutes).
	BootTimeout time.Duration
	Console     io.Writer // optional copy of the console output
	Log         *slog.Logger
	QEMU        string // default qemu-system-x86_64
}

func (o *Options) defaults() error {
	if o.Kernel == "" || o.Initrd == "" || o.Dir == "" {
		return fmt.Errorf("vm options: Kernel, Initrd and Dir are required")
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 1024
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.BootTimeout == 0 {
		o.BootTimeout = 3 * time.Minute
	}
	if o.QEMU == "" {
		o.QEMU = "qemu-system-x86_64"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	for i := range o.Disks {
		if o.Disks[i].Serial == "" {
			o.Disks[i].Serial = fmt.Sprintf("scdisk%d", i)
		}
		if len(o.Disks[i].Serial) > 20 {
			return fmt.Errorf("vm options: disk serial %q is longer than 20 bytes", o.Disks[i].Serial)
		}
	}
	return nil
}

// Result is what a guest command did.
type Result struct {
	Exit   int // exit status; 128+N when killed by signal N
	Stdout []byte
	Stderr []byte
}

// Cmd is a command to run in the guest.
type Cmd struct {
	Argv  []string
	Env   []string
	Dir   string
	Stdin []byte
	// Console runs the command on the guest's console (hvc0) as its controlling
	// terminal (stdin, stdout and stderr), for prompts: drive it with
	// Expect and SendLine. Its Result has no output.
	Console bool
}
