// Package machine boots the appliance image in a virtual machine (qemu
// with software emulation, UEFI firmware from Debian's ovmf package) and
// drives it over its serial console, as a person at a serial terminal
// would: wait for text, type a line or a passphrase, log in, run a shell
// command. It also prepares a machine's disks (a copy of the image, a blank
// data disk, the firmware's variables, users) and reads the guest's
// journal from the stopped image. The VM test of images/appliance and make
// demo-appliance use it.
package machine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Firmware from Debian's ovmf package.
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS.fd"
)

// GuestPort is the appliance server's port in the guest.
const GuestPort = 2222

// Options configure one boot.
type Options struct {
	System string // the appliance image (a copy: the machine writes to it)
	Data   string // the data disk, virtio serial "data0" (virtio-data0 in the guest)
	Vars   string // this machine's copy of OVMF_VARS.fd
	Port   int    // the host port on 127.0.0.1 forwarded to the guest's GuestPort
	// Console, when set, gets a copy of everything the console prints.
	Console io.Writer
}

// Machine is one run of qemu: the serial console on qemu's stdio (read and
// typed into here), user networking, -no-reboot (a reboot in the guest
// ends qemu).
type Machine struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	out     bytes.Buffer
	tee     io.Writer
	cursor  int
	done    chan struct{}
	started time.Time
}

// Start powers the machine on.
func Start(o Options) (*Machine, error) {
	// One vCPU: with two, the guest kernel hung once for good in its
	// int3-based code patching (loop_init, sk_filter_trim_cap; RCU stall),
	// which the other vCPU's emulation did not see.
	args := []string{"-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "1",
		"-display", "none", "-serial", "mon:stdio", "-no-reboot",
		"-drive", "if=pflash,format=raw,readonly=on,file=" + OVMFCode,
		"-drive", "if=pflash,format=raw,file=" + o.Vars,
		"-drive", "file=" + o.System + ",format=raw,if=virtio",
		"-drive", "file=" + o.Data + ",format=raw,if=none,id=data",
		"-device", "virtio-blk-pci,drive=data,serial=data0",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:%d", o.Port, GuestPort),
		"-device", "virtio-net-pci,netdev=n0",
	}
	m := &Machine{cmd: exec.Command("qemu-system-x86_64", args...), done: make(chan struct{}), tee: o.Console}
	var err error
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	m.cmd.Stdout = m
	m.cmd.Stderr = m
	m.started = time.Now()
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	return m, nil
}

// Started is when the machine was powered on.
func (m *Machine) Started() time.Time { return m.started }

// Since is the time since power-on, rounded to 0.1 s.
func (m *Machine) Since() time.Duration { return time.Since(m.started).Round(100 * time.Millisecond) }

// Write takes qemu's output (the console).
func (m *Machine) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tee != nil {
		m.tee.Write(p)
	}
	return m.out.Write(p)
}

// Kill stops qemu at once and waits for it.
func (m *Machine) Kill() {
	m.cmd.Process.Kill()
	<-m.done
}

// Wait waits until qemu exits (a reboot or power-off in the guest).
func (m *Machine) Wait(timeout time.Duration) error {
	select {
	case <-m.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("qemu still runs %v later:\n%s", timeout, m.Tail(2000))
	}
}

// ansiPattern matches the terminal escapes the console prints, and CRs.
const ansiPattern = `\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][0-9A-B]|\x1b[=>M78]|\r`

var (
	ansi   = regexp.MustCompile(ansiPattern)
	ansiAt = regexp.MustCompile(`^(?:` + ansiPattern + `)`)
)

// Text is the console's output from offset from on, without terminal
// escapes.
func (m *Machine) Text(from int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return ansi.ReplaceAllString(m.out.String()[from:], "")
}

// Mark is the console's offset now, for Text.
func (m *Machine) Mark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Len()
}

// Tail is about the last n bytes of the console, for error messages.
func (m *Machine) Tail(n int) string {
	s := m.Text(0)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// Expect waits until the console shows a match of re after the cursor,
// moves the cursor past it and returns the submatches.
func (m *Machine) Expect(re string, timeout time.Duration) ([]string, error) {
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		m.mu.Lock()
		from := m.cursor
		m.mu.Unlock()
		text := m.Text(from)
		if loc := rx.FindStringSubmatchIndex(text); loc != nil {
			m.mu.Lock()
			m.cursor = from + rawOffset(m.out.String()[from:], loc[1])
			m.mu.Unlock()
			var subs []string
			for i := 0; i+1 < len(loc); i += 2 {
				if loc[i] >= 0 {
					subs = append(subs, text[loc[i]:loc[i+1]])
				} else {
					subs = append(subs, "")
				}
			}
			return subs, nil
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("qemu exited while waiting for %q:\n%s", re, m.Tail(3000))
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no %q on the console within %v:\n%s", re, timeout, m.Tail(3000))
		}
	}
}

// rawOffset maps offset n in the escape-free text of raw back to an offset
// in raw.
func rawOffset(raw string, n int) int {
	clean := 0
	for i := 0; i < len(raw); {
		if clean == n {
			return i
		}
		if loc := ansiAt.FindStringIndex(raw[i:]); loc != nil {
			i += loc[1]
			continue
		}
		clean++
		i++
	}
	return len(raw)
}

// Send types s as it is.
func (m *Machine) Send(s string) error {
	if _, err := io.WriteString(m.stdin, s); err != nil {
		return fmt.Errorf("type on the console: %w", err)
	}
	return nil
}

// Type types s and Enter.
func (m *Machine) Type(s string) error { return m.Send(s + "\r") }

// ErrNoEcho is returned when a password agent never showed that it took
// the passphrase typed at it.
var ErrNoEcho = errors.New("the prompt took no passphrase")

// TypePassphrase types s and Enter at systemd's console password agent,
// again (up to five times) while the agent echoes no '*' for each of its
// characters: it prints its question before it sets the terminal up, which
// flushes what was typed in between, as a person typing at once would see
// too. (Fewer stars may be systemd's "[ *** ]" progress.)
func (m *Machine) TypePassphrase(s string) error {
	for try := 1; try <= 5; try++ {
		mark := m.Mark()
		if err := m.Type(s); err != nil {
			return err
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(m.Text(mark), strings.Repeat("*", len(s))) {
				return nil
			}
			select {
			case <-m.done:
				return fmt.Errorf("qemu exited at the passphrase prompt:\n%s", m.Tail(2000))
			case <-time.After(100 * time.Millisecond): // polling the console
			}
		}
	}
	return fmt.Errorf("%w:\n%s", ErrNoEcho, m.Tail(2000))
}

// SysRq sends a serial break (qemu's mon:stdio: Ctrl-A b) and then key: the
// kernel's magic SysRq over a serial line.
func (m *Machine) SysRq(key string) error { return m.Send("\x01b" + key) }

// Failed returns the console's lines where systemd said a unit failed
// ("[FAILED] Failed to start X.").
func (m *Machine) Failed() []string {
	var failed []string
	for _, line := range strings.Split(m.Text(0), "\n") {
		if strings.Contains(line, "FAILED") || strings.Contains(line, "Failed to start") {
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	return failed
}
