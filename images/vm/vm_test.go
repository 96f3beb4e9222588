//go:build vmtest

package vm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func run(t *testing.T, m *vm.Machine, argv ...string) vm.Result {
	t.Helper()
	r, err := m.Run(ctxFor(t, 5*time.Minute), argv...)
	if err != nil {
		t.Fatalf("run %q: %v", argv, err)
	}
	return r
}

// TestVMGuest boots one guest and checks what every later VM test relies on.
func TestVMGuest(t *testing.T) {
	t.Parallel()
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{
		Disks:   []vm.Disk{{Size: 64 << 20, Serial: "SC-DATA-1"}, {Size: 32 << 20, Serial: "SC-DATA-2"}},
		Forward: []int{8080},
	}, Programs: []string{"cryptsetup", "mkfs.ext4"}})

	t.Run("exit status and output", func(t *testing.T) {
		r := run(t, m, "sh", "-c", "echo out; echo err >&2; exit 3")
		if r.Exit != 3 || string(r.Stdout) != "out\n" || string(r.Stderr) != "err\n" {
			t.Errorf("got exit %d stdout %q stderr %q; want 3 %q %q", r.Exit, r.Stdout, r.Stderr, "out\n", "err\n")
		}
		r = run(t, m, "uname", "-r")
		if got := strings.TrimSpace(string(r.Stdout)); got != m.Kernel() || got == "" {
			t.Errorf("got uname -r %q, want the agent's kernel %q", got, m.Kernel())
		}
	})

	t.Run("device-mapper", func(t *testing.T) {
		mods := string(run(t, m, "cat", "/proc/modules").Stdout)
		for _, mod := range []string{"dm_mod", "dm_crypt", "virtio_blk", "loop", "xts"} {
			if !strings.Contains(mods, mod+" ") {
				t.Errorf("module %s not loaded; /proc/modules:\n%s", mod, mods)
			}
		}
		if r := run(t, m, "test", "-c", "/dev/mapper/control"); r.Exit != 0 {
			t.Error("/dev/mapper/control is not a character device")
		}
		if r := run(t, m, "sh", "-c", "grep -w crypt /proc/misc /proc/devices; ls /sys/module/dm_crypt"); r.Exit != 0 {
			t.Errorf("dm_crypt not registered: %s", r.Stderr)
		}
	})

	t.Run("disks with serials", func(t *testing.T) {
		for dev, want := range map[string]string{"vda": "SC-DATA-1", "vdb": "SC-DATA-2"} {
			got := strings.TrimSpace(string(run(t, m, "cat", "/sys/block/"+dev+"/serial").Stdout))
			if got != want {
				t.Errorf("got serial %q for %s, want %q", got, dev, want)
			}
			link := strings.TrimSpace(string(run(t, m, "readlink", "-f", "/dev/disk/by-id/virtio-"+want).Stdout))
			if link != "/dev/"+dev {
				t.Errorf("got by-id link to %q, want /dev/%s", link, dev)
			}
		}
		size := strings.TrimSpace(string(run(t, m, "cat", "/sys/block/vda/size").Stdout))
		if size != fmt.Sprint(64<<20/512) {
			t.Errorf("got vda size %s sectors, want %d", size, 64<<20/512)
		}
	})

	t.Run("cryptsetup and dm-crypt", func(t *testing.T) {
		// The reference tools run in the guest with their libraries, and
		// dm-crypt really maps: format, open, mkfs, mount, write, close, reopen, read.
		script := `set -e
printf pass > /tmp/key
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /tmp/key /dev/vda
cryptsetup open --key-file /tmp/key /dev/vda smoke
mkfs.ext4 -q -m 0 /dev/mapper/smoke
mkdir -p /mnt/smoke && mount /dev/mapper/smoke /mnt/smoke
echo through-dm-crypt > /mnt/smoke/f && umount /mnt/smoke
cryptsetup close smoke
test ! -e /dev/mapper/smoke
cryptsetup open --key-file /tmp/key /dev/vda smoke
mount /dev/mapper/smoke /mnt/smoke && cat /mnt/smoke/f && umount /mnt/smoke
cryptsetup close smoke
if grep -q through-dm-crypt /dev/vda; then echo plaintext on disk; exit 1; fi`
		r := run(t, m, "sh", "-c", script)
		if r.Exit != 0 || string(r.Stdout) != "through-dm-crypt\n" {
			t.Fatalf("got exit %d stdout %q stderr %q; want 0 and the file back", r.Exit, r.Stdout, r.Stderr)
		}
	})

	t.Run("console expect and type", func(t *testing.T) {
		ctx := ctxFor(t, 3*time.Minute)
		p, err := m.StartCmd(vm.Cmd{Console: true, Argv: []string{"sh", "-c",
			`printf 'Name? '; read -r name; tty; echo "hello, $name!"; exit 5`}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Expect(ctx, "Name? "); err != nil {
			t.Fatal(err)
		}
		if err := m.SendLine("console"); err != nil {
			t.Fatal(err)
		}
		if err := m.Expect(ctx, "hello, console!"); err != nil {
			t.Fatal(err)
		}
		r, err := p.Wait(ctx)
		if err != nil || r.Exit != 5 {
			t.Fatalf("got %+v, %v; want exit 5", r, err)
		}
		if !strings.Contains(m.Console(), "/dev/hvc0") {
			t.Error("the console command's terminal is not /dev/hvc0")
		}
	})

	t.Run("port forward", func(t *testing.T) {
		run(t, m, "sh", "-c", "mkdir -p /www && echo guest-says-hi > /www/index.html")
		srv, err := m.StartCmd(vm.Cmd{Argv: []string{"httpd", "-f", "-p", "8080", "-h", "/www"}})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Signal(syscall.SIGKILL)
		port := m.HostPort(8080)
		if port == 0 {
			t.Fatal("no host port for guest port 8080")
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
		testutil.Eventually(t, 3*time.Minute, func() error {
			resp, err := http.Get(url)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "guest-says-hi\n" {
				return fmt.Errorf("GET %s: status %s body %q", url, resp.Status, b)
			}
			return nil
		})
	})

	t.Run("command timeout kills the command", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := m.Run(ctx, "sh", "-c", "sleep 300")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
		// The error tells a hung command from a hung channel.
		if msg := err.Error(); !strings.Contains(msg, "guest processes then") || !strings.Contains(msg, "PPID") ||
			!strings.Contains(msg, "kill: killed") {
			t.Errorf("the timeout error shows no process list and kill answer: %v", err)
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			if pids := strings.TrimSpace(string(run(t, m, "sh", "-c", "pgrep -f 'sleep 300' || true").Stdout)); pids != "" {
				return fmt.Errorf("sleep 300 still runs in the guest: pids %s", pids)
			}
			return nil
		})
	})
}

// TestVMTwoGuestsAndCleanup boots two guests at once, checks they are
// separate, and that closing leaves no qemu behind.
func TestVMTwoGuestsAndCleanup(t *testing.T) {
	t.Parallel()
	type booted struct{ m *vm.Machine }
	ch := make(chan booted, 2)
	for i := 0; i < 2; i++ {
		go func(i int) {
			var b booted
			defer func() { ch <- b }()
			b.m = vmtest.Boot(t, vmtest.Options{Options: vm.Options{
				Disks: []vm.Disk{{Size: 16 << 20, Serial: fmt.Sprintf("TWIN-%d", i)}}}})
		}(i)
	}
	var ms []*vm.Machine
	for i := 0; i < 2; i++ {
		b := <-ch
		if b.m == nil {
			t.Fatal("a guest did not boot")
		}
		ms = append(ms, b.m)
	}
	serials := map[string]bool{}
	for _, m := range ms {
		serials[strings.TrimSpace(string(run(t, m, "cat", "/sys/block/vda/serial").Stdout))] = true
	}
	if !serials["TWIN-0"] || !serials["TWIN-1"] {
		t.Errorf("got serials %v, want TWIN-0 and TWIN-1 in different guests", serials)
	}
	for _, m := range ms {
		pid := m.Pid()
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("qemu pid %d still exists after Close (kill 0: %v)", pid, err)
		}
		if _, err := m.Run(ctxFor(t, 5*time.Second), "true"); err == nil {
			t.Error("Run on a closed guest succeeded")
		}
	}
}

// TestVMLifetimeKill checks that a guest is killed when its lifetime ends:
// during boot, and later while a command runs.
func TestVMLifetimeKill(t *testing.T) {
	t.Parallel()
	t.Run("during boot", func(t *testing.T) {
		o := vmtest.Build(t, vmtest.Options{Options: vm.Options{Timeout: 500 * time.Millisecond}})
		m, err := vm.Start(context.Background(), o)
		if err == nil {
			m.Close()
			t.Fatal("a guest with a 500ms lifetime booted")
		}
		if !strings.Contains(err.Error(), "lifetime") {
			t.Errorf("got %v, want an error naming the lifetime", err)
		}
		if pids := qemuPids(t, o.Dir); len(pids) > 0 {
			t.Errorf("qemu still runs for %s: pids %v", o.Dir, pids)
		}
	})
	t.Run("while a command runs", func(t *testing.T) {
		m := vmtest.Boot(t, vmtest.Options{})
		p, err := m.StartCmd(vm.Cmd{Argv: []string{"sleep", "300"}})
		if err != nil {
			t.Fatal(err)
		}
		m.SetLifetime(time.Second)
		select {
		case <-m.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("guest still running 30s after its lifetime ended")
		}
		if !m.TimedOut() {
			t.Error("TimedOut() = false after the lifetime kill")
		}
		_, err = p.Wait(ctxFor(t, 10*time.Second))
		if err == nil || !strings.Contains(err.Error(), "lifetime") {
			t.Errorf("got %v from the killed command, want an error naming the lifetime", err)
		}
	})
}

// qemuPids lists qemu processes whose command line mentions dir.
func qemuPids(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", "qemu-system-x86_64.*"+regexp.QuoteMeta(dir)).Output()
	if err != nil { // pgrep exits 1 when nothing matches
		return nil
	}
	return strings.Fields(string(out))
}
