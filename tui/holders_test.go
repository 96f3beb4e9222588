package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"simplecloud/disk/holders"
	"simplecloud/internal/testutil"
)

// fakeHolders returns its reports in turn, then the last one forever.
type fakeHolders struct {
	mu    sync.Mutex
	reps  []holders.Report
	calls int
}

func (f *fakeHolders) Scan(_ context.Context, target string) (holders.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reps[min(f.calls, len(f.reps)-1)]
	f.calls++
	r.Target = target
	return r, nil
}

func holdersReport(pids ...int) holders.Report {
	r := holders.Report{Dev: holders.Dev{Major: 253, Minor: 0}, Name: "dm-0", DMName: "things",
		Mounts: []holders.Mount{{MountPoint: "/mnt/things", Initial: true}, {MountPoint: "/data", Namespace: 4026532000}},
		Loops:  []holders.Loop{{Name: "loop0", BackingFile: "/mnt/things/disk.img"}}}
	for _, pid := range pids {
		p := holders.Process{PID: pid, User: "root", Command: "sleep 1000",
			Holds: []holders.Hold{{Kind: holders.HoldCwd, Path: "/mnt/things/work"}}}
		if pid == 300 {
			p.Unit = "backup.service"
		}
		if pid == 400 {
			p.Holds = []holders.Hold{{Kind: holders.HoldMountNS, Path: "/data"}}
		}
		r.Processes = append(r.Processes, p)
	}
	return r
}

func TestHoldersView(t *testing.T) {
	m := NewHolders(&fakeHolders{}, "things", holdersReport(100, 300, 400), false)
	m.choices[300] = holders.ActionSkip
	v := m.View()
	for _, want := range []string{
		"Close things: what keeps things (dm-0) busy",
		"> stop   100     root     -                cwd /mnt/things/work  sleep 1000",
		"  skip   300     root     backup.service   cwd",
		"  -      400 ",
		"unmount /mnt/things here",
		"unmount /data in namespace 4026532000",
		"detach loop0 (backed by /mnt/things/disk.img)",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	for _, l := range strings.Split(v, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line wider than 80 columns: %q", l)
		}
	}
}

func TestHoldersKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kill    bool
		keys    []tea.KeyMsg
		proceed bool
		want    map[int]holders.Action
	}{
		{"enter keeps the defaults", false, []tea.KeyMsg{hKey(tea.KeyEnter)}, true,
			map[int]holders.Action{100: holders.ActionStop, 200: holders.ActionStop}},
		{"--kill default", true, []tea.KeyMsg{hKey(tea.KeyEnter)}, true,
			map[int]holders.Action{100: holders.ActionKill, 200: holders.ActionKill}},
		{"kill the second, skip the first", false, []tea.KeyMsg{hRunes("j"), hRunes("x"), hKey(tea.KeyUp), hRunes("n"), hKey(tea.KeyEnter)}, true,
			map[int]holders.Action{100: holders.ActionSkip, 200: holders.ActionKill}},
		{"space cycles", false, []tea.KeyMsg{hKey(tea.KeySpace), hKey(tea.KeySpace), hKey(tea.KeyEnter)}, true,
			map[int]holders.Action{100: holders.ActionSkip, 200: holders.ActionStop}},
		{"esc cancels", false, []tea.KeyMsg{hRunes("x"), hKey(tea.KeyEsc)}, false,
			map[int]holders.Action{100: holders.ActionKill, 200: holders.ActionStop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewHolders(&fakeHolders{reps: []holders.Report{holdersReport(100, 200)}}, "things", holdersReport(100, 200), tc.kill)
			for _, k := range tc.keys {
				m.Update(k)
			}
			proceed, got, _ := m.Outcome()
			if proceed != tc.proceed {
				t.Errorf("got proceed %v, want %v", proceed, tc.proceed)
			}
			for pid, a := range tc.want {
				if got[pid] != a {
					t.Errorf("pid %d: got %q, want %q", pid, got[pid], a)
				}
			}
		})
	}
}

func hRunes(s string) tea.KeyMsg    { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
func hKey(k tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: k} }

func hWait(t *testing.T, tm *teatest.TestModel, want string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), want) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// TestHoldersLive runs the screen: a process that exits disappears on the
// next rescan, and the choice made for another survives it.
func TestHoldersLive(t *testing.T) {
	src := &fakeHolders{reps: []holders.Report{holdersReport(100, 200, 300), holdersReport(200, 300)}}
	m := NewHolders(src, "things", holdersReport(100, 200, 300), false)
	m.Interval = 10 * time.Millisecond
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	hWait(t, tm, "Close things")
	tm.Send(hRunes("j"))
	tm.Send(hRunes("j"))
	tm.Send(hRunes("x")) // pid 300
	testutil.Eventually(t, 10*time.Second, func() error {
		src.mu.Lock()
		defer src.mu.Unlock()
		if src.calls < 2 {
			return fmt.Errorf("no rescan: %d scans", src.calls)
		}
		return nil
	})
	tm.Send(hKey(tea.KeyEnter))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Holders)
	proceed, got, last := fm.Outcome()
	if !proceed || len(last.Processes) != 2 {
		t.Fatalf("got proceed %v with %d processes, want true and 2", proceed, len(last.Processes))
	}
	if _, ok := got[100]; ok {
		t.Error("pid 100 exited but still has a choice")
	}
	if got[300] != holders.ActionKill || got[200] != holders.ActionStop {
		t.Errorf("got choices %v, want 200 stop and 300 kill", got)
	}
}
