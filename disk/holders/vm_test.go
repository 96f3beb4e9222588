//go:build vmtest

package holders_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"simplecloud/disk/holders"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

type guest struct {
	t *testing.T
	m *vm.Machine
}

func (g guest) run(argv ...string) vm.Result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := g.m.Run(ctx, argv...)
	if err != nil {
		g.t.Fatalf("run %q: %v", argv, err)
	}
	return r
}

func (g guest) sh(script string) string {
	g.t.Helper()
	r := g.run("sh", "-c", script)
	if r.Exit != 0 {
		g.t.Fatalf("%s: exit %d\n%s%s", script, r.Exit, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

// start runs a long-lived holder in the guest; its script writes its pid
// to /tmp/NAME.pid first.
func (g guest) start(name, script string) int {
	g.t.Helper()
	if _, err := g.m.StartCmd(vm.Cmd{Argv: []string{"sh", "-c", "echo $$ > /tmp/" + name + ".pid.tmp && mv /tmp/" + name + ".pid.tmp /tmp/" + name + ".pid; " + script}}); err != nil {
		g.t.Fatalf("start %s: %v", name, err)
	}
	var pid int
	testutil.Eventually(g.t, time.Minute, func() error {
		r := g.run("cat", "/tmp/"+name+".pid")
		n, err := strconv.Atoi(strings.TrimSpace(string(r.Stdout)))
		if r.Exit != 0 || err != nil {
			return fmt.Errorf("%s did not start: exit %d, %v", name, r.Exit, err)
		}
		pid = n
		return nil
	})
	return pid
}

// TestVMCloseThings is the original guide's scenario: a LUKS volume
// "things", mounted, with a process whose cwd is inside, one holding a file
// open, a mount kept in a second namespace and a loop device backed by a
// file on it. simplecloud close things --yes --kill must leave
// /dev/mapper/things gone and report each holder it stopped.
func TestVMCloseThings(t *testing.T) {
	parted := filepath.Join(t.TempDir(), "parted.img")
	writeMBRDisk(t, parted, 32<<20)
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{
		Disks: []vm.Disk{{Size: 96 << 20, Serial: "SC-THINGS"}, {Path: parted, Serial: "SC-PARTED"}},
	}, Programs: []string{"cryptsetup", "mkfs.ext4"}})
	g := guest{t, m}
	t.Run("partition", func(t *testing.T) { partitionHolders(t, g) })
	g.sh(`set -e
printf pass > /tmp/key
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /tmp/key /dev/vda
cryptsetup open --key-file /tmp/key /dev/vda things
mkfs.ext4 -q -m 0 /dev/mapper/things
mkdir -p /mnt/things && mount /dev/mapper/things /mnt/things
mkdir /mnt/things/work && echo hello > /mnt/things/work/notes
dd if=/dev/zero of=/mnt/things/disk.img bs=1M count=4 2>/dev/null
losetup -f /mnt/things/disk.img`)
	cwd := g.start("cwd", "cd /mnt/things/work && exec sleep 1000")
	fd := g.start("fd", "exec 3</mnt/things/work/notes; exec sleep 1000")
	ns := g.start("ns", "exec unshare -m sleep 1000")

	// Wait until the scan sees every holder (the processes have to get
	// as far as their exec).
	var rep holders.Report
	testutil.Eventually(t, time.Minute, func() error {
		r := g.run("/bin/simplecloud", "holders", "things", "--json")
		if r.Exit != 0 {
			t.Fatalf("holders: exit %d: %s", r.Exit, r.Stderr)
		}
		if err := json.Unmarshal(r.Stdout, &rep); err != nil {
			t.Fatalf("holders --json: %v\n%s", err, r.Stdout)
		}
		if missing := missing(rep, map[int]string{cwd: holders.HoldCwd, fd: holders.HoldFD, ns: holders.HoldMountNS}); len(missing) > 0 || len(rep.Loops) != 1 {
			return fmt.Errorf("holders: missing %v (loops %+v) in\n%s", missing, rep.Loops, r.Stdout)
		}
		return nil
	})
	if len(rep.Mounts) != 2 {
		t.Errorf("got mounts %+v, want /mnt/things here and in the second namespace", rep.Mounts)
	}
	enginesAgree(t, g)

	r := g.run("/bin/simplecloud", "close", "things", "--yes", "--kill", "--grace", "3s")
	out := string(r.Stdout)
	t.Logf("simplecloud close things:\n%s%s", out, r.Stderr)
	if r.Exit != 0 {
		t.Fatalf("close: exit %d", r.Exit)
	}
	for _, want := range []string{
		"ok   SIGTERM pid " + strconv.Itoa(cwd) + " (sleep 1000), wait, then SIGKILL: exited after SIGTERM",
		"ok   SIGTERM pid " + strconv.Itoa(fd) + " (sleep 1000), wait, then SIGKILL: exited after SIGTERM",
		"ok   unmount /mnt/things in mount namespace",
		"ok   detach loop device loop",
		"ok   unmount /mnt/things in this namespace",
		"ok   close mapping things: removed",
		"things is closed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("close output lacks %q", want)
		}
	}
	g.sh("test ! -e /dev/mapper/things && ! grep -q things /proc/self/mountinfo")
	if r := g.run("cat", "/proc/"+strconv.Itoa(ns)+"/mountinfo"); r.Exit != 0 || strings.Contains(string(r.Stdout), "/mnt/things") {
		t.Errorf("the second namespace (pid %d): exit %d, mountinfo %s; want it alive without /mnt/things", ns, r.Exit, r.Stdout)
	}
	if r := g.run("cryptsetup", "status", "things"); r.Exit == 0 {
		t.Errorf("cryptsetup status things: exit 0, want it gone: %s", r.Stdout)
	}

	t.Run("screen on the console", func(t *testing.T) { closeOnConsole(t, g) })
	t.Run("stacked mapping", func(t *testing.T) { closeStacked(t, g) })
	t.Run("deferred", func(t *testing.T) { closeDeferred(t, g) })
}

// enginesAgree runs holders with each engine on Debian's kernel (older
// than the host's: no open-coded VMA iterator, no bpf_rdonly_cast) and
// checks that they find the same processes with the same holds.
func enginesAgree(t *testing.T, g guest) {
	reports := map[string]holders.Report{}
	for _, engine := range []string{holders.EngineBPF, holders.EngineProc} {
		r := g.run("/bin/simplecloud", "holders", "things", "--json", "--engine", engine, "--log-level", "debug")
		var rep holders.Report
		if r.Exit != 0 || json.Unmarshal(r.Stdout, &rep) != nil {
			t.Errorf("holders --engine %s: exit %d\n%s%s", engine, r.Exit, r.Stdout, r.Stderr)
			return
		}
		t.Logf("holders --engine %s:\n%s", engine, r.Stderr)
		reports[engine] = rep
	}
	summary := func(r holders.Report) string {
		var out []string
		for _, p := range r.Processes {
			for _, h := range p.Holds {
				out = append(out, fmt.Sprintf("%d %s %s %d", p.PID, h.Kind, h.Path, h.FD))
			}
		}
		slices.Sort(out)
		return strings.Join(out, "\n")
	}
	if b, p := summary(reports[holders.EngineBPF]), summary(reports[holders.EngineProc]); b != p {
		t.Errorf("the engines disagree:\nbpf:\n%s\nproc:\n%s", b, p)
	}
}

// closeStacked puts a second LUKS mapping inside things and mounts it:
// close removes the inner mapping (after unmounting it) before things.
func closeStacked(t *testing.T, g guest) {
	g.t = t
	g.sh(`set -e
cryptsetup open --key-file /tmp/key /dev/vda things
mount /dev/mapper/things /mnt/things
dd if=/dev/zero of=/mnt/things/disk.img bs=1M count=20 2>/dev/null
umount /mnt/things
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /tmp/key /dev/mapper/things
cryptsetup open --key-file /tmp/key /dev/mapper/things inner
mkfs.ext4 -q -m 0 /dev/mapper/inner
mkdir -p /mnt/inner && mount /dev/mapper/inner /mnt/inner`)
	pid := g.start("inner", "cd /mnt/inner && exec sleep 1000")
	r := g.run("/bin/simplecloud", "close", "things", "--yes", "--grace", "3s")
	out := string(r.Stdout)
	t.Logf("simplecloud close things:\n%s%s", out, r.Stderr)
	if r.Exit != 0 {
		t.Fatalf("close: exit %d", r.Exit)
	}
	want := []string{
		"ok   SIGTERM pid " + strconv.Itoa(pid),
		"ok   unmount /mnt/inner in this namespace",
		"ok   remove device-mapper device inner: removed",
		"ok   close mapping things: removed",
	}
	last := -1
	for _, w := range want {
		i := strings.Index(out, w)
		if i < 0 || i < last {
			t.Errorf("close output lacks %q after the previous step", w)
		}
		last = i
	}
	g.sh("test ! -e /dev/mapper/inner && test ! -e /dev/mapper/things")
}

// closeDeferred: a holder of the device node that ignores SIGTERM stays
// without --kill; with --deferred the kernel removes things once the last
// user has gone.
func closeDeferred(t *testing.T, g guest) {
	g.t = t
	g.sh("cryptsetup open --key-file /tmp/key /dev/vda things")
	pid := g.start("stubborn", `trap "" TERM; exec 3</dev/mapper/things; while :; do sleep 1; done`)
	r := g.run("/bin/simplecloud", "close", "things", "--yes", "--deferred", "--grace", "1s", "--json")
	if r.Exit != 0 {
		t.Fatalf("close --deferred: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	var out struct {
		Result holders.Result `json:"result"`
	}
	if err := json.Unmarshal(r.Stdout, &out); err != nil {
		t.Fatalf("close --json: %v\n%s", err, r.Stdout)
	}
	if !out.Result.Deferred || out.Result.MappingGone || out.Result.Outcomes[0].OK {
		t.Errorf("got %+v, want the signal step failed and a deferred remove", out.Result)
	}
	if r := g.run("cryptsetup", "status", "things"); r.Exit != 0 {
		t.Error("things went away while pid " + strconv.Itoa(pid) + " still holds it")
	}
	g.sh("kill -9 " + strconv.Itoa(pid))
	testutil.Eventually(t, time.Minute, func() error {
		if g.run("cryptsetup", "status", "things").Exit == 0 {
			return errors.New("things is still there after its last user was killed")
		}
		return nil
	})
}

// closeOnConsole opens things again with one holder and runs simplecloud
// close without --yes on the console: the holders screen shows the holder,
// x marks it to be killed, Enter closes.
func closeOnConsole(t *testing.T, g guest) {
	g.t = t
	g.sh(`set -e
cryptsetup open --key-file /tmp/key /dev/vda things
mount /dev/mapper/things /mnt/things`)
	pid := g.start("cwd2", "cd /mnt/things/work && exec sleep 1000")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := g.m.StartCmd(vm.Cmd{Console: true, Argv: []string{"/bin/simplecloud", "close", "things", "--grace", "2s"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Close things: what keeps things (dm-0) busy", strconv.Itoa(pid), "unmount /mnt/things here"} {
		if err := g.m.Expect(ctx, want); err != nil {
			t.Fatalf("expect %q: %v\n%s", want, err, g.m.Console())
		}
	}
	if err := g.m.Send("x"); err != nil {
		t.Fatal(err)
	}
	if err := g.m.Expect(ctx, "kill"); err != nil {
		t.Fatalf("expect the kill mark: %v", err)
	}
	if err := g.m.Send("\r"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SIGTERM pid " + strconv.Itoa(pid) + " (sleep 1000), wait, then SIGKILL: exited after SIGTERM", "things is closed"} {
		if err := g.m.Expect(ctx, want); err != nil {
			t.Fatalf("expect %q: %v\n%s", want, err, g.m.Console())
		}
	}
	if r, err := p.Wait(ctx); err != nil || r.Exit != 0 {
		t.Errorf("close on the console: got %+v, %v; want exit 0", r, err)
	}
	g.sh("test ! -e /dev/mapper/things")
}

// writeMBRDisk makes a disk image of size bytes with an MBR and one Linux
// partition from sector 2048 to the end (the host's kernel here reads no
// partition tables, Debian's does).
func writeMBRDisk(t *testing.T, path string, size int64) {
	t.Helper()
	mbr := make([]byte, 512)
	entry := mbr[446:462]
	entry[4] = 0x83 // Linux
	binary.LittleEndian.PutUint32(entry[8:], 2048)
	binary.LittleEndian.PutUint32(entry[12:], uint32(size/512-2048))
	mbr[510], mbr[511] = 0x55, 0xaa
	if err := os.WriteFile(path, mbr, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// partitionHolders scans a whole disk whose partition is mounted with a
// process inside, with each engine: the partition is stacked on the disk
// and the process holds the disk through it.
func partitionHolders(t *testing.T, g guest) {
	g.t = t
	g.sh(`set -e
mkfs.ext4 -q /dev/vdb1
mkdir -p /mnt/parted && mount /dev/vdb1 /mnt/parted`)
	pid := g.start("parted", "cd /mnt/parted && exec sleep 1000")
	for _, engine := range []string{holders.EngineBPF, holders.EngineProc} {
		var rep holders.Report
		testutil.Eventually(t, time.Minute, func() error {
			r := g.run("/bin/simplecloud", "holders", "/dev/vdb", "--json", "--engine", engine)
			if err := json.Unmarshal(r.Stdout, &rep); r.Exit != 0 || err != nil {
				t.Fatalf("holders /dev/vdb --engine %s: exit %d, %v: %s%s", engine, r.Exit, err, r.Stdout, r.Stderr)
			}
			if m := missing(rep, map[int]string{pid: holders.HoldCwd}); len(m) > 0 {
				return fmt.Errorf("engine %s: missing %v in %+v", engine, m, rep.Processes)
			}
			return nil
		})
		if len(rep.Stacked) != 1 || rep.Stacked[0].Name != "vdb1" || rep.Stacked[0].Kind != "partition" || rep.Stacked[0].On != rep.Dev {
			t.Errorf("engine %s: stacked %+v, want vdb1, a partition on %s", engine, rep.Stacked, rep.Dev)
		}
	}
	g.sh("kill " + strconv.Itoa(pid) + "; umount /mnt/parted || umount -l /mnt/parted")
}

func missing(r holders.Report, want map[int]string) []string {
	var out []string
	for pid, kind := range want {
		i := slices.IndexFunc(r.Processes, func(p holders.Process) bool { return p.PID == pid })
		if i < 0 || !slices.ContainsFunc(r.Processes[i].Holds, func(h holders.Hold) bool { return h.Kind == kind }) {
			out = append(out, kind+" "+strconv.Itoa(pid))
		}
	}
	return out
}
