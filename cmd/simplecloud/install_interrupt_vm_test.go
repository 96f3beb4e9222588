//go:build vmtest

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
	"simplecloud/provision"
)

// TestVMInstallInterrupted kills the install at each step and runs it again:
// the second run must undo what the first left open and finish. The system
// disk, mounted read-only, must come out bit for bit the same. Each case
// starts from the blank disk the one before leaves.
func TestVMInstallInterrupted(t *testing.T) {
	dir := t.TempDir()
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{Disks: []vm.Disk{
		{Path: filepath.Join(dir, "system.img"), Size: 32 << 20, Serial: "SC-SYSTEM"},
		{Path: filepath.Join(dir, "data.img"), Size: 96 << 20, Serial: "SC-DATA"},
	}}, Programs: installGuestPrograms})
	g := guest{t: t, m: m}
	g.sh(`/usr/sbin/mke2fs -q -t ext4 /dev/vda && mkdir -p /sysroot && mount /dev/vda /sysroot &&
cp /bin/simplecloud /sysroot/simplecloud && umount /sysroot && mount -o ro /dev/vda /sysroot && printf pw > /tmp/key`)
	sum := g.sh("md5sum /dev/vda")
	install := []string{sc, "install", "--disk", "virtio-SC-DATA", "--key-file", "/tmp/key", "--yes", "--wipe", "random",
		"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--json"}

	// A kill while the wipe runs, once its progress is on record.
	testutil.Step(t, "during the wipe", func(t *testing.T) {
		g := guest{t, m}
		p, err := m.StartCmd(vm.Cmd{Argv: install})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("killing with state:\n%s", waitState(g, "wipe_done = "))
		if err := p.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if res, err := p.Wait(ctx); err != nil || res.Exit == 0 {
			t.Fatalf("got %+v, %v; want the install killed", res, err)
		}
		reinstall(g, install, false)
	})
	// A kill as soon as the install's events say a step is done.
	for _, step := range []provision.StepName{provision.StepWipe, provision.StepPartition, provision.StepFormat,
		provision.StepOpen, provision.StepMkfs, provision.StepMount, provision.StepConfigure} {
		testutil.Step(t, "after "+string(step), func(t *testing.T) {
			g := guest{t, m}
			run := interruptAfter(g, install, step)
			// Once the configuration is written the install is done: a
			// re-run says so and writes nothing.
			reinstall(g, install, run.configured())
		})
	}
	testutil.Step(t, "whole disk", func(t *testing.T) {
		g := guest{t, m}
		if r := g.run("", append(install, "--whole-disk")...); r.Exit != 0 {
			t.Fatalf("install --whole-disk: exit %d\n%s", r.Exit, r.Stderr)
		}
		g.sh("cryptsetup luksDump /dev/vdb | grep -q 'Label:.*simplecloud' && test ! -e /dev/vdb1")
		g.sh("cryptsetup status simplecloud | grep -q 'device:  /dev/vdb$' && dumpe2fs -h /dev/mapper/simplecloud 2>/dev/null | grep -q 'Reserved block count: *0$'")
		g.sh(sc + " lock")
	})
	if got := g.sh("md5sum /dev/vda"); got != sum {
		t.Errorf("the system disk changed: md5 %s, was %s", got, sum)
	}
}

// interrupted is what a killed install printed and left.
type interrupted struct {
	exit   int
	events []provision.Event
	state  *provision.State // nil once the configuration is written
}

// configured reports whether the run got as far as writing the
// configuration, when the install counts as done.
func (r interrupted) configured() bool { return r.state == nil }

// interruptAfter runs the install argv on the guest's console with --json
// and kills its process group with SIGKILL as soon as the console shows the
// event that step is done. The step is then on record in the state file (it
// is written before the event); the kill lands in a step after it, or after
// the end when those are quick. It fails g unless the process died by the
// kill or finished, and the state agrees with the events.
func interruptAfter(g guest, argv []string, step provision.StepName) interrupted {
	t := g.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A mark of this run on the console: the events of the runs before are
	// behind it.
	mark := fmt.Sprintf("interrupt-after-%s-%d", step, time.Now().UnixNano())
	p, err := g.m.StartCmd(vm.Cmd{Console: true, Argv: append([]string{"sh", "-c", `echo "$0"; exec "$@"`, mark}, argv...)})
	if err != nil {
		t.Fatal(err)
	}
	done := fmt.Sprintf(`{"step":%q,"kind":%q`, step, provision.EventDone)
	for _, want := range []string{mark, done} {
		if err := g.m.Expect(ctx, want); err != nil {
			t.Fatalf("install: %v", err)
		}
	}
	kill := p.Signal(syscall.SIGKILL) // fails when the install has finished
	res, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("install after the kill: %v", err)
	}
	run := interrupted{exit: res.Exit, events: consoleEvents(t, g.m.Console(), mark)}
	if st := g.run("", "cat", "/etc/simplecloud/install-state.toml").Stdout; len(st) > 0 {
		run.state = new(provision.State)
		if _, err := toml.Decode(string(st), run.state); err != nil {
			t.Fatalf("install state: %v\n%s", err, st)
		}
	}
	t.Logf("exit %d (kill: %v), %s; state %+v", res.Exit, kill, run.landed(), run.state)
	if st := run.state; st != nil && len(st.Completed) > 0 && st.Completed[len(st.Completed)-1] != step {
		t.Logf("the kill landed after %s was done too: this run tries a resume from there, not from %s", st.Completed[len(st.Completed)-1], step)
	}
	switch {
	case res.Exit != 128+9 && res.Exit != 0:
		t.Fatalf("got exit %d, want 137 (killed) or 0 (finished before the kill)\n%s", res.Exit, tail(g.m.Console(), 3000))
	case res.Exit == 0 && !run.configured():
		t.Fatalf("the install exited 0 and left its state file: %+v", run.state)
	case step == provision.StepConfigure && !run.configured():
		t.Fatal("the state file is still there after configure was done")
	case !run.configured() && !run.state.Has(step):
		t.Fatalf("the state file lacks %s although its done event was printed: %+v", step, run.state)
	}
	return run
}

// landed says how far the run's events on the console got before the kill
// (the console may lag behind the process by an event).
func (r interrupted) landed() string {
	for i := len(r.events) - 1; i >= 0; i-- {
		if e := r.events[i]; e.Kind == provision.EventStarted || e.Kind == provision.EventDone {
			return fmt.Sprintf("last event %s %s", e.Step, e.Kind)
		}
	}
	return "no step event"
}

// consoleEvents decodes the install's events that follow mark on the console.
func consoleEvents(t *testing.T, console, mark string) []provision.Event {
	t.Helper()
	var events []provision.Event
	for _, l := range strings.Split(console[strings.LastIndex(console, mark):], "\n") {
		l = strings.TrimSpace(l)
		var e provision.Event
		if strings.HasPrefix(l, `{"step":`) && json.Unmarshal([]byte(l), &e) == nil {
			events = append(events, e)
		}
	}
	return events
}

// reinstall runs the install again after a kill and checks that it finished
// (or, when the configuration was written, says the disk is installed), then
// locks the volume and blanks the disk for the next case.
func reinstall(g guest, install []string, installed bool) {
	t := g.t
	t.Helper()
	r := g.run("", install...)
	switch {
	case installed && (r.Exit != 1 || !strings.Contains(string(r.Stderr), "already holds the SimpleCloud volume")):
		t.Fatalf("re-run after the configuration was written: exit %d\n%s; want: already installed", r.Exit, r.Stderr)
	case !installed && r.Exit != 0:
		t.Fatalf("re-run after the kill: exit %d\n%s", r.Exit, r.Stderr)
	}
	g.sh("cryptsetup luksDump /dev/vdb1 | grep -q 'Label:.*simplecloud' && grep -q ' /srv/simplecloud ext4 ' /proc/mounts")
	g.sh("test ! -e /etc/simplecloud/install-state.toml")
	g.sh(sc + " lock && rm /etc/simplecloud/simplecloud.toml && dd if=/dev/zero of=/dev/vdb bs=1M 2>/dev/null; sync")
}

// waitState polls the install state file until it contains want and the
// wipe has begun, and returns it.
func waitState(g guest, want string) string {
	g.t.Helper()
	var s string
	testutil.Eventually(g.t, 3*time.Minute, func() error {
		s = string(g.run("", "cat", "/etc/simplecloud/install-state.toml").Stdout)
		if !strings.Contains(s, want) || strings.Contains(s, "wipe_done = 0\n") {
			return fmt.Errorf("the install never reached %q; state:\n%s", want, s)
		}
		return nil
	})
	return s
}
