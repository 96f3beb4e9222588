package machine

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Login logs in at the serial getty's prompt and waits for the shell.
func (m *Machine) Login(user, password string) error {
	if _, err := m.Expect(`[a-z0-9-]+ login: `, 2*time.Minute); err != nil {
		return err
	}
	if err := m.Type(user); err != nil {
		return err
	}
	if _, err := m.Expect(`Password: `, time.Minute); err != nil {
		return err
	}
	if err := m.Type(password); err != nil {
		return err
	}
	_, err := m.Expect(`@[a-z0-9-]+:[^\n]*[#$] `, time.Minute)
	return err
}

// Shell runs a command line in the shell a Login opened and returns what it
// printed and its exit status. The markers around the output are typed
// split in two, so that only the shell's output of them matches, not the
// console's echo of the typed line.
func (m *Machine) Shell(command string, timeout time.Duration) (string, int, error) {
	line := fmt.Sprintf(`printf '%%s\n' '@@BE''GIN@@'; %s; printf '@@E''ND %%d@@\n' "$?"`, command)
	if err := m.Type(line); err != nil {
		return "", 0, err
	}
	subs, err := m.Expect(`(?s)@@BEGIN@@\n(.*?)@@END (\d+)@@`, timeout)
	if err != nil {
		return "", 0, fmt.Errorf("run %q in the guest: %w", command, err)
	}
	code, _ := strconv.Atoi(subs[2])
	return subs[1], code, nil
}

// Off runs command (systemctl reboot or poweroff) in the logged-in shell
// and waits until qemu exits (run with -no-reboot, it exits on a reboot).
func (m *Machine) Off(command string, timeout time.Duration) error {
	if err := m.Type(command); err != nil {
		return err
	}
	return m.Wait(timeout)
}

// SysRqReboot syncs, remounts every filesystem read-only and reboots with
// SysRq, with no login; qemu, run with -no-reboot, exits.
func (m *Machine) SysRqReboot() error {
	for _, k := range []struct{ key, done string }{{"s", `Emergency Sync complete`}, {"u", `Emergency Remount complete`}} {
		if err := m.SysRq(k.key); err != nil {
			return err
		}
		if _, err := m.Expect(k.done, time.Minute); err != nil {
			return err
		}
	}
	if err := m.SysRq("b"); err != nil {
		return err
	}
	return m.Wait(time.Minute)
}

// WaitServing waits until an SSH server's banner comes from addr.
func WaitServing(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := sshBanner(addr)
		if err == nil {
			if strings.HasPrefix(b, "SSH-2.0-") {
				return nil
			}
			err = fmt.Errorf("banner %q", b)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SSH server on %s within %v: %w", addr, timeout, err)
		}
		time.Sleep(200 * time.Millisecond) // polling the port against the deadline
	}
}

// sshBanner connects to addr and returns the first line the server sends.
func sshBanner(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 64)
	n, err := c.Read(b)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// FreePort returns a TCP port on the loopback that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
