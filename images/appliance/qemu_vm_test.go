//go:build vmtest

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Firmware from Debian's ovmf package.
const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS.fd"
)

// guest is one run of qemu with the appliance: UEFI firmware, the system
// image and the data disk on virtio, the serial console on stdio (read by
// the test, and written to type), user networking with the server's port
// forwarded to the host's loopback.
type guest struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	out     bytes.Buffer
	cursor  int
	done    chan struct{}
	started time.Time
}

// startGuest boots the machine. vars is the copy of OVMF_VARS.fd this
// machine keeps; port is the host port forwarded to the guest's 2222.
func startGuest(t *testing.T, system, data, vars string, port int) *guest {
	t.Helper()
	args := []string{"-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "2",
		"-display", "none", "-serial", "mon:stdio", "-no-reboot",
		"-drive", "if=pflash,format=raw,readonly=on,file=" + ovmfCode,
		"-drive", "if=pflash,format=raw,file=" + vars,
		"-drive", "file=" + system + ",format=raw,if=virtio",
		"-drive", "file=" + data + ",format=raw,if=none,id=data",
		"-device", "virtio-blk-pci,drive=data,serial=data0",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2222", port),
		"-device", "virtio-net-pci,netdev=n0",
	}
	g := &guest{cmd: exec.Command("qemu-system-x86_64", args...), done: make(chan struct{})}
	var err error
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	g.cmd.Stdout = g
	g.cmd.Stderr = g
	g.started = time.Now()
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.cmd.Process.Kill()
		<-g.done
		if t.Failed() {
			t.Logf("console:\n%s", g.tail(6000))
		}
	})
	return g
}

func (g *guest) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.Write(p)
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][0-9A-B]|\r`)

// text is the console's output from the cursor on, without terminal
// escapes.
func (g *guest) text(from int) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ansi.ReplaceAllString(g.out.String()[from:], "")
}

func (g *guest) tail(n int) string {
	s := g.text(0)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// expect waits until the console shows a match of re after the cursor and
// moves the cursor past everything printed so far.
func (g *guest) expect(t *testing.T, re string, timeout time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		g.mu.Lock()
		end := g.out.Len()
		g.mu.Unlock()
		if m := rx.FindString(g.text(g.cursor)); m != "" {
			g.cursor = end
			return m
		}
		select {
		case <-g.done:
			t.Fatalf("qemu exited while waiting for %q:\n%s", re, g.tail(4000))
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the console within %v:\n%s", re, timeout, g.tail(4000))
		}
	}
}

// typeLine types s and Enter on the serial console.
func (g *guest) typeLine(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(g.stdin, s+"\r"); err != nil {
		t.Fatal(err)
	}
}

// typePassphrase types s and Enter at a password agent's prompt, again
// (up to five times) while the agent echoes no '*' for it: the console
// agent prints its question before it sets the terminal up, which flushes
// what was typed in between, as a person typing at once would see too.
func (g *guest) typePassphrase(t *testing.T, s string) {
	t.Helper()
	for try := 1; try <= 5; try++ {
		g.mu.Lock()
		mark := g.out.Len()
		g.mu.Unlock()
		g.typeLine(t, s)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(g.text(mark), "*") {
				return
			}
			time.Sleep(100 * time.Millisecond) // polling the console
		}
		t.Logf("the prompt echoed nothing for try %d; typing again", try)
	}
	t.Fatalf("the prompt never took the passphrase:\n%s", g.tail(2000))
}

// sysrq sends a serial break (qemu's mon:stdio: Ctrl-A b) and then key: the
// kernel's magic SysRq over a serial line.
func (g *guest) sysrq(t *testing.T, key string) {
	t.Helper()
	if _, err := io.WriteString(g.stdin, "\x01b"+key); err != nil {
		t.Fatal(err)
	}
}

// reboot syncs, remounts every filesystem read-only and reboots with SysRq
// (the image has no shell for the test); qemu, run with -no-reboot,
// exits.
func (g *guest) reboot(t *testing.T) {
	t.Helper()
	g.sysrq(t, "s")
	g.expect(t, `Emergency Sync complete`, time.Minute)
	g.sysrq(t, "u")
	g.expect(t, `Emergency Remount complete`, time.Minute)
	g.sysrq(t, "b")
	select {
	case <-g.done:
	case <-time.After(time.Minute):
		t.Fatal("qemu did not exit after SysRq b")
	}
}

// failedUnits returns the units the console said failed, from systemd's
// status lines ("[FAILED] Failed to start X.").
func (g *guest) failedUnits() []string {
	var failed []string
	for _, line := range strings.Split(g.text(0), "\n") {
		if strings.Contains(line, "FAILED") || strings.Contains(line, "Failed to start") {
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	return failed
}

// freePort returns a TCP port on the loopback that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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

func copySparse(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "--sparse=always", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v: %s", from, err, out)
	}
}

func blankDisk(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// unitFailedID is the MESSAGE_ID of systemd's "UNIT: Failed with result"
// entries: every unit that entered the failed state, as systemctl --failed
// would list it at that moment.
const unitFailedID = "d9b373ed55a64feb8242e02dbe79a49c"

// journalFailures reads the guest's persistent journal from the root
// partition of the (stopped) system image, without mounting it (debugfs),
// and returns systemd's messages about units that failed, on every boot.
func journalFailures(t *testing.T, system string) []string {
	t.Helper()
	l, err := readRootOffset(system)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dev := fmt.Sprintf("%s?offset=%d", system, l)
	if out, err := exec.Command("debugfs", "-R", "rdump /var/log/journal "+dir, dev).CombinedOutput(); err != nil {
		t.Fatalf("debugfs rdump of the guest's journal: %v\n%s", err, out)
	}
	out, err := exec.Command("journalctl", "-D", dir+"/journal", "--no-pager", "-q", "-o", "cat", "MESSAGE_ID="+unitFailedID).Output()
	if err != nil {
		t.Fatalf("journalctl on the guest's journal: %v", err)
	}
	var failed []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			failed = append(failed, line)
		}
	}
	return failed
}

// readRootOffset returns the byte offset of the image's root partition
// (GPT type Linux root x86-64).
func readRootOffset(img string) (int64, error) {
	st, err := file.OpenFromPath(img, true)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	table, err := gpt.Read(st, SectorSize, SectorSize)
	if err != nil {
		return 0, fmt.Errorf("read the partition table of %s: %w", img, err)
	}
	for _, p := range table.Partitions {
		if p.Type == gpt.LinuxRootX86_64 {
			return p.GetStart(), nil
		}
	}
	return 0, errors.New("the image has no root partition")
}
