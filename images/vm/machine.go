package vm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"simplecloud/images/agent"
)

// Machine is a running guest. Its methods are safe for concurrent use.
type Machine struct {
	opts     Options
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   bytes.Buffer
	console  *console
	client   *agent.Client
	conn     net.Conn
	ports    map[int]int
	kernel   string
	done     chan struct{} // closed when qemu has exited
	waitErr  error
	timedOut atomic.Bool
	timer    *time.Timer
	closeMu  sync.Mutex
	closed   bool
}

// Start boots a guest and waits until its agent answers. On any failure the
// guest is killed and the error carries the end of the console.
func Start(ctx context.Context, o Options) (*Machine, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath(o.QEMU); err != nil {
		return nil, fmt.Errorf("find qemu: %w; install the Debian package qemu-system-x86", err)
	}
	if err := prepareDisks(o.Dir, o.Disks); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m, err := start(ctx, o)
		if err == nil {
			return m, nil
		}
		lastErr = err
		// A forwarded port taken between choosing and binding: try other ports.
		if !strings.Contains(err.Error(), "hostfwd") && !strings.Contains(err.Error(), "forwarding rule") {
			break
		}
	}
	return nil, lastErr
}

func prepareDisks(dir string, disks []Disk) error {
	for i := range disks {
		d := &disks[i]
		if d.Path == "" {
			d.Path = filepath.Join(dir, fmt.Sprintf("disk%d.img", i))
		}
		if _, err := os.Stat(d.Path); err == nil {
			continue
		}
		if d.Size <= 0 {
			return fmt.Errorf("create disk %s: size %d", d.Path, d.Size)
		}
		f, err := os.OpenFile(d.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("create disk: %w", err)
		}
		err = f.Truncate(d.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("create disk %s: %w", d.Path, err)
		}
	}
	return nil
}

// socketPath returns a path for the agent socket short enough for sun_path.
func socketPath(dir string) (string, func(), error) {
	p := filepath.Join(dir, "agent.sock")
	if len(p) < 100 {
		return p, func() { os.Remove(p) }, nil
	}
	d, err := os.MkdirTemp("", "scvm")
	if err != nil {
		return "", nil, fmt.Errorf("make socket dir: %w", err)
	}
	return filepath.Join(d, "agent.sock"), func() { os.RemoveAll(d) }, nil
}

func start(ctx context.Context, o Options) (*Machine, error) {
	m := &Machine{opts: o, ports: map[int]int{}, done: make(chan struct{})}
	sock, cleanup, err := socketPath(o.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("listen for guest agent: %w", err)
	}
	defer ln.Close()
	for _, gp := range o.Forward {
		hp, err := freePort()
		if err != nil {
			return nil, err
		}
		m.ports[gp] = hp
	}
	logf, err := os.Create(filepath.Join(o.Dir, "console.log"))
	if err != nil {
		return nil, fmt.Errorf("create console log: %w", err)
	}
	m.console = newConsole(teeWriter(logf, o.Console))
	m.cmd = exec.Command(o.QEMU, m.args(sock)...)
	m.cmd.Stdout = m.console
	m.cmd.Stderr = &lockedBuffer{buf: &m.stderr}
	// qemu dies with us even if we are killed, and gets no terminal signals.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("qemu stdin: %w", err)
	}
	o.Log.Debug("starting guest", "cmd", strings.Join(m.cmd.Args, " "))
	if err := m.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	go func() {
		m.waitErr = m.cmd.Wait()
		m.console.close()
		logf.Close()
		close(m.done)
	}()
	m.timer = time.AfterFunc(o.Timeout, func() {
		m.timedOut.Store(true)
		o.Log.Warn("guest lifetime exceeded; killing it", "timeout", o.Timeout)
		m.kill()
	})
	if err := m.connect(ctx, ln); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// connect accepts qemu's connection to the agent socket and waits for the
// agent's hello, or for qemu to die, or for the boot timeout.
func (m *Machine) connect(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.BootTimeout)
	defer cancel()
	go func() {
		select {
		case <-m.done:
			ln.Close()
		case <-ctx.Done():
			ln.Close()
		}
	}()
	conn, err := ln.Accept()
	if err != nil {
		return m.bootError("connect to guest agent", ctx, err)
	}
	m.conn = conn
	m.client = agent.NewClient(conn)
	hello, err := m.client.WaitReady(ctx)
	if err != nil {
		return m.bootError("wait for guest agent", ctx, err)
	}
	m.kernel = hello.Kernel
	return nil
}

func (m *Machine) bootError(doing string, ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	} else {
		// The channel broke: qemu is exiting; let it finish so we can say why.
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
		}
	}
	select {
	case <-m.done:
		if m.timedOut.Load() {
			return fmt.Errorf("%s: guest killed after its %v lifetime; console ends with:\n%s%s", doing, m.opts.Timeout, m.console.tail(3000), m.bootLogTail())
		}
		return fmt.Errorf("%s: qemu exited (%v): %s\nconsole ends with:\n%s%s", doing, m.waitErr,
			strings.TrimSpace(m.stderrString()), m.console.tail(3000), m.bootLogTail())
	default:
	}
	return fmt.Errorf("%s: %w; console ends with:\n%s%s", doing, err, m.console.tail(3000), m.bootLogTail())
}

func (m *Machine) bootLogPath() string { return filepath.Join(m.opts.Dir, "boot.log") }

// bootLogTail returns the end of what the guest printed before its virtio
// console came up, for boot errors.
func (m *Machine) bootLogTail() string {
	b, err := os.ReadFile(m.bootLogPath())
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 3000 {
		b = append([]byte("..."), b[len(b)-3000:]...)
	}
	return "\nearly boot log (" + m.bootLogPath() + ") ends with:\n" + strings.TrimSpace(string(b))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("choose a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// args returns qemu's command line.
func (m *Machine) args(sock string) []string {
	o := m.opts
	// The kernel prints to both consoles; /dev/console is hvc0 once
	// virtio_console is loaded, ttyS0 (a file) before that.
	appendLine := fmt.Sprintf("console=ttyS0 console=hvc0 quiet panic=-1 sc.disks=%d", len(o.Disks))
	if len(o.Forward) > 0 {
		appendLine += " sc.net=1"
	}
	if o.Append != "" {
		appendLine += " " + o.Append
	}
	a := []string{
		"-accel", "tcg", "-cpu", "max", "-m", fmt.Sprint(o.MemoryMB), "-smp", fmt.Sprint(o.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", o.Kernel, "-initrd", o.Initrd, "-append", appendLine,
		// The early boot (before virtio_console loads) goes to a file on the
		// 8250 port; everything after it, and the interactive console, to a
		// virtio console on stdio. The agent has a virtio port of its own.
		// An emulated 8250's interrupt-driven output was seen to stall for
		// good under TCG; virtio has no such lost-interrupt race.
		"-chardev", "file,id=boot,path=" + m.bootLogPath(), "-serial", "chardev:boot",
		"-device", "virtio-serial-pci,id=vser",
		"-chardev", "stdio,id=con,signal=off", "-device", "virtconsole,chardev=con,bus=vser.0",
		"-chardev", "socket,id=agent,path=" + sock,
		"-device", "virtserialport,chardev=agent,name=" + agent.PortName + ",bus=vser.0",
	}
	for i, d := range o.Disks {
		drive := fmt.Sprintf("file=%s,format=raw,if=none,id=d%d", d.Path, i)
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		a = append(a, "-drive", drive, "-device", fmt.Sprintf("virtio-blk-pci,drive=d%d,serial=%s", i, d.Serial))
	}
	if len(o.Forward) > 0 {
		netdev := "user,id=n0,restrict=on"
		for _, gp := range o.Forward {
			netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", m.ports[gp], gp)
		}
		a = append(a, "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0")
	}
	return a
}
