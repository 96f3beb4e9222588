package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"simplecloud/images/agent"
)

// Kernel returns the guest kernel's release, as uname -r prints it.
func (m *Machine) Kernel() string { return m.kernel }

// Pid returns the process ID of qemu on the host.
func (m *Machine) Pid() int { return m.cmd.Process.Pid }

// HostPort returns the 127.0.0.1 port forwarded to guestPort, or 0 if that
// port is not forwarded.
func (m *Machine) HostPort(guestPort int) int { return m.ports[guestPort] }

// Console returns everything the guest printed on its console so far.
func (m *Machine) Console() string { return m.console.String() }

// Expect waits until s appears on the console after the previous match.
func (m *Machine) Expect(ctx context.Context, s string) error {
	return m.console.expect(ctx, s)
}

// SendLine types s and Enter (a carriage return, as a terminal sends) on the
// console.
func (m *Machine) SendLine(s string) error {
	return m.Send(s + "\r")
}

// Send types s on the console as it is.
func (m *Machine) Send(s string) error {
	if _, err := io.WriteString(m.stdin, s); err != nil {
		return fmt.Errorf("type on guest console: %w", err)
	}
	return nil
}

// Run runs argv in the guest and waits for it.
func (m *Machine) Run(ctx context.Context, argv ...string) (Result, error) {
	return m.RunCmd(ctx, Cmd{Argv: argv})
}

// RunCmd runs c in the guest and waits for it. A command that exits
// non-zero is not an error: check Result.Exit. If ctx ends first, the
// command's process group is killed.
func (m *Machine) RunCmd(ctx context.Context, c Cmd) (Result, error) {
	p, err := m.StartCmd(c)
	if err != nil {
		return Result{}, err
	}
	return p.Wait(ctx)
}

// Process is a command started in the guest.
type Process struct {
	m    *Machine
	id   uint64
	ch   <-chan agent.Response
	argv []string
}

// StartCmd starts c in the guest and returns without waiting.
func (m *Machine) StartCmd(c Cmd) (*Process, error) {
	id, ch, err := m.client.Send(agent.Request{Op: agent.OpRun, Argv: c.Argv, Env: c.Env, Dir: c.Dir, Stdin: c.Stdin, Console: c.Console})
	if err != nil {
		return nil, m.guestErr(fmt.Sprintf("run %q in guest", c.Argv), err)
	}
	return &Process{m: m, id: id, ch: ch, argv: c.Argv}, nil
}

// Wait waits for the process to exit. If ctx ends first, the process group
// is killed and ctx's error returned.
func (p *Process) Wait(ctx context.Context) (Result, error) {
	r, err := p.m.client.Wait(ctx, p.ch)
	if err != nil {
		if ctx.Err() != nil {
			// Say whether the command hung or the channel did: a snapshot of
			// the guest's processes, then the kill's answer.
			ps := p.m.processList()
			kerr := p.Signal(syscall.SIGKILL)
			if kerr == nil {
				kerr = errors.New("killed")
			}
			err = fmt.Errorf("%w; guest processes then:\n%s\nkill: %v", err, ps, kerr)
		}
		return Result{}, p.m.guestErr(fmt.Sprintf("run %q in guest", p.argv), err)
	}
	if r.Error != "" {
		return Result{Exit: r.Exit}, fmt.Errorf("run %q in guest: %s", p.argv, r.Error)
	}
	return Result{Exit: r.Exit, Stdout: r.Stdout, Stderr: r.Stderr}, nil
}

// processList returns the guest's ps output, or why there is none, for
// timeout errors.
func (m *Machine) processList() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := m.StartCmd(Cmd{Argv: []string{"ps", "-o", "pid,ppid,stat,args"}})
	if err != nil {
		return "(ps: " + err.Error() + ")"
	}
	r, err := m.client.Wait(ctx, p.ch)
	if err != nil {
		return "(ps: no answer from the agent: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(r.Stdout) + string(r.Stderr))
}

// Signal sends sig to the process group of p.
func (p *Process) Signal(sig syscall.Signal) error {
	_, ch, err := p.m.client.Send(agent.Request{Op: agent.OpSignal, Target: p.id, Signal: int(sig)})
	if err != nil {
		return p.m.guestErr("signal guest process", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := p.m.client.Wait(ctx, ch)
	if err != nil {
		return p.m.guestErr("signal guest process", err)
	}
	if r.Error != "" {
		return fmt.Errorf("signal guest process: %s", r.Error)
	}
	return nil
}

// guestErr explains a failed exchange, naming a timeout kill if there was one.
func (m *Machine) guestErr(doing string, err error) error {
	if m.timedOut.Load() {
		return fmt.Errorf("%s: guest killed after its %v lifetime: %w", doing, m.opts.Timeout, err)
	}
	select {
	case <-m.done:
		return fmt.Errorf("%s: guest exited (%v): %w; console ends with:\n%s", doing, m.waitErr, err, m.console.tail(2000))
	default:
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// Done is closed when qemu has exited.
func (m *Machine) Done() <-chan struct{} { return m.done }

// SetLifetime restarts the lifetime clock: the guest is killed d from now.
func (m *Machine) SetLifetime(d time.Duration) {
	m.timer.Reset(d)
}

// TimedOut reports whether the guest was killed for exceeding its lifetime.
func (m *Machine) TimedOut() bool { return m.timedOut.Load() }

func (m *Machine) kill() {
	if m.cmd.Process != nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Close powers the guest off (killing it if it does not stop within a few
// seconds) and waits until qemu is gone. Disk images stay in Dir.
func (m *Machine) Close() error {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.timer.Stop()
	if m.client != nil {
		if _, _, err := m.client.Send(agent.Request{Op: agent.OpPoweroff}); err == nil {
			select {
			case <-m.done:
			case <-time.After(5 * time.Second):
			}
		}
	}
	m.kill()
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		return errors.New("close guest: qemu did not exit 30s after SIGKILL")
	}
	if m.conn != nil {
		m.conn.Close()
	}
	m.stdin.Close()
	return nil
}

func (m *Machine) stderrString() string {
	return m.cmd.Stderr.(*lockedBuffer).String()
}

// lockedBuffer is a bytes.Buffer safe for a writer and readers at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func teeWriter(w io.Writer, extra io.Writer) io.Writer {
	if extra == nil {
		return w
	}
	return io.MultiWriter(w, extra)
}
