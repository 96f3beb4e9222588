package holders

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func stepLines(p Plan) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.String())
	}
	return out
}

func TestMakePlan(t *testing.T) {
	s, _ := fakeScanner(t, "basic", basicStat())
	r, err := s.Scan(context.Background(), "things")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{
		"swapoff /mnt/things/swapfile",
		"unmount /data in mount namespace 4026532000 (via pid 104)",
		"unmount /mnt/things/tmp in this namespace",
		"unmount /mnt/things in this namespace",
		"close mapping things",
	}
	level1 := []string{
		"unmount /mnt/things/inner in this namespace",
		"unmount /mnt/stack in this namespace",
		"detach loop device loop0",
		"remove device-mapper device stack",
	}
	for _, tc := range []struct {
		name  string
		o     PlanOptions
		procs []string
	}{
		{"signals", PlanOptions{Mapping: "things"}, []string{
			"SIGTERM pid 100 (bash -c backup), wait, then report it if still running",
			"SIGTERM pid 101 (?), wait, then report it if still running",
			"SIGTERM pid 102 (?), wait, then report it if still running",
			"SIGTERM pid 103 (?), wait, then report it if still running",
			"SIGTERM pid 105 (?), wait, then report it if still running",
			"SIGTERM pid 106 (?), wait, then report it if still running",
		}},
		{"systemd, kill, self, protected and choices", PlanOptions{Mapping: "things", Systemd: true, Kill: true, Self: 103,
			Protect: []int{106, 99}, Choices: map[int]Action{101: ActionSkip, 102: ActionSkip}}, []string{
			"stop unit backup.service (pids 100)",
			"SIGTERM pid 105 (?), wait, then SIGKILL",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := MakePlan(r, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Concat(tc.procs, level1, base)
			if got := stepLines(p); !slices.Equal(got, want) {
				t.Errorf("got steps\n%q\nwant\n%q", got, want)
			}
		})
	}
	p, err := MakePlan(r, PlanOptions{Choices: map[int]Action{101: ActionSkip}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Manual; len(got) != 3 {
		t.Errorf("got manual notes %q, want the unit of pid 100, skipped pid 101 and the nfsd export", got)
	}
	if p.Steps[len(p.Steps)-1].Kind == StepClose {
		t.Error("got a close step without a mapping")
	}
}

// fakeOps records calls; processes in exitOn exit on that signal.
type fakeOps struct {
	stopped []int
	calls   []string
	exitOn  map[int]int // pid -> signal number that ends it (0: never)
	failUm  map[string]bool
}

type fakeProc struct {
	o      *fakeOps
	pid    int
	exited bool
}

func (o *fakeOps) OpenProcess(pid int, start uint64) (Proc, error) {
	if start == 999 {
		return nil, ErrGone
	}
	return &fakeProc{o: o, pid: pid}, nil
}
func (p *fakeProc) Signal(sig syscallSignal) error {
	p.o.calls = append(p.o.calls, "signal "+itoa(p.pid)+" "+sig.String())
	if p.o.exitOn[p.pid] == int(sig) || p.o.exitOn[p.pid] == 15 && int(sig) == 9 {
		p.exited = true
	}
	return nil
}
func (p *fakeProc) Wait(ctx context.Context) bool {
	return p.exited || slices.Contains(p.o.stopped, p.pid)
}
func (p *fakeProc) Close() error { return nil }
func (o *fakeOps) StopUnit(_ context.Context, u string) error {
	o.calls = append(o.calls, "stop "+u)
	if u == "broken.service" {
		return errBusy
	}
	for pid, sig := range o.exitOn {
		if sig == -1 {
			o.exitOn[pid] = 15 // the unit's stop ends it like a SIGTERM would
			o.stopped = append(o.stopped, pid)
		}
	}
	return nil
}
func (o *fakeOps) Unmount(mp string, initial bool, ns uint64, nsPID int) error {
	o.calls = append(o.calls, "umount "+mp)
	if o.failUm[mp] {
		return errBusy
	}
	return nil
}
func (o *fakeOps) Swapoff(p string) error    { o.calls = append(o.calls, "swapoff "+p); return nil }
func (o *fakeOps) DetachLoop(n string) error { o.calls = append(o.calls, "detach "+n); return nil }
func (o *fakeOps) StopMD(_ context.Context, n string) error {
	o.calls = append(o.calls, "mdstop "+n)
	return nil
}

type fakeMapping struct {
	busy  bool
	calls []string
}

func (m *fakeMapping) Remove(n string) error {
	m.calls = append(m.calls, "remove "+n)
	if m.busy {
		return errBusy
	}
	return nil
}
func (m *fakeMapping) RemoveDeferred(n string) error {
	m.calls = append(m.calls, "deferred "+n)
	return nil
}

func TestApply(t *testing.T) {
	plan := Plan{Grace: 10 * time.Millisecond, Steps: []Step{
		{Kind: StepSignal, PIDs: []int{10}, StartTime: []uint64{1}, Commands: []string{"polite"}},
		{Kind: StepSignal, PIDs: []int{11}, StartTime: []uint64{1}, Commands: []string{"stubborn"}, Kill: true},
		{Kind: StepSignal, PIDs: []int{12}, StartTime: []uint64{999}, Commands: []string{"reused"}},
		{Kind: StepSignal, PIDs: []int{13}, StartTime: []uint64{1}, Commands: []string{"stubborn, no kill"}},
		{Kind: StepUnmount, MountPoint: "/busy", Initial: true},
		{Kind: StepClose, Name: "things", Deferred: true},
	}}
	ops := &fakeOps{exitOn: map[int]int{10: 15, 11: 9, 13: 9}, failUm: map[string]bool{"/busy": true}}
	m := &fakeMapping{busy: true}
	res := (&Applier{Ops: ops, Mapping: m}).Apply(context.Background(), plan)
	wantCalls := []string{"signal 10 terminated", "signal 11 terminated", "signal 11 killed", "signal 13 terminated", "umount /busy"}
	if !slices.Equal(ops.calls, wantCalls) {
		t.Errorf("got calls %q, want %q", ops.calls, wantCalls)
	}
	var got []string
	for _, o := range res.Outcomes {
		got = append(got, o.Detail+"|"+boolStr(o.OK))
	}
	want := []string{"exited after SIGTERM|ok", "killed after the grace time|ok", "already gone|ok", "|failed", "|failed", "deferred|ok"}
	if !slices.Equal(got, want) {
		t.Errorf("got outcomes %q, want %q", got, want)
	}
	if res.MappingGone || !res.Deferred || res.OK() {
		t.Errorf("got gone %v deferred %v ok %v, want false true false", res.MappingGone, res.Deferred, res.OK())
	}
	// With confirmation the stubborn process is killed after all.
	ops = &fakeOps{exitOn: map[int]int{13: 9}}
	asked := 0
	res = (&Applier{Ops: ops, ConfirmKill: func(pids []int, _ []string) bool { asked++; return true }}).Apply(context.Background(),
		Plan{Grace: time.Millisecond, Steps: plan.Steps[3:4]})
	if !res.OK() || asked != 1 {
		t.Errorf("with confirmation: got ok %v after %d questions, want ok after 1", res.OK(), asked)
	}
}

func boolStr(b bool) string {
	if b {
		return "ok"
	}
	return "failed"
}

func TestApplyUnits(t *testing.T) {
	plan := Plan{Grace: time.Millisecond, Steps: []Step{
		{Kind: StepStopUnit, Unit: "backup.service", PIDs: []int{20}, StartTime: []uint64{1}, Commands: []string{"backup"}},
		{Kind: StepStopUnit, Unit: "broken.service", PIDs: []int{21}, StartTime: []uint64{1}, Commands: []string{"broken"}},
	}}
	ops := &fakeOps{exitOn: map[int]int{20: -1, 21: 15}}
	res := (&Applier{Ops: ops}).Apply(context.Background(), plan)
	wantCalls := []string{"stop backup.service", "stop broken.service", "signal 21 terminated"}
	if !slices.Equal(ops.calls, wantCalls) {
		t.Errorf("got calls %q, want %q", ops.calls, wantCalls)
	}
	if !res.OK() || res.Outcomes[0].Detail != "unit stopped" || !strings.Contains(res.Outcomes[1].Detail, "stopping the unit failed") {
		t.Errorf("got %+v, want the unit stopped and the broken unit's process signalled", res.Outcomes)
	}
}
