package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"simplecloud/provision"
)

func startTea(t *testing.T, b *fakeBackend) *teatest.TestModel {
	t.Helper()
	return teatest.NewTestModel(t, NewInstaller(b, b.disks, provision.Options{}), teatest.WithInitialTermSize(80, 24))
}

func waitOutput(t *testing.T, tm *teatest.TestModel, want string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(want)) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

func outcome(t *testing.T, tm *teatest.TestModel) (bool, *provision.Result, error) {
	t.Helper()
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Installer).Outcome()
}

// TestTeaCancel: Esc on the first screen and Ctrl-C later both quit without
// calling the backend's Install.
func TestTeaCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys func(tm *teatest.TestModel)
	}{
		{"esc on the disk list", func(tm *teatest.TestModel) { tm.Send(key(tea.KeyEsc)) }},
		{"ctrl-c at the passphrase", func(tm *teatest.TestModel) {
			tm.Send(key(tea.KeyEnter))
			tm.Send(key(tea.KeyEnter))
			tm.Type("virtio-SC-DATA")
			tm.Send(key(tea.KeyEnter))
			tm.Send(key(tea.KeyEnter))
			waitOutput(t, tm, "Choose the passphrase")
			tm.Type("secret passphrase")
			tm.Send(key(tea.KeyCtrlC))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{disks: testDisks()}
			tm := startTea(t, b)
			waitOutput(t, tm, "Choose the data disk")
			tc.keys(tm)
			cancelled, res, err := outcome(t, tm)
			if !cancelled || res != nil || err != nil || b.gotPW != nil {
				t.Errorf("got cancelled %v, result %v, err %v, install called %v; want cancelled before writing", cancelled, res, err, b.gotPW != nil)
			}
		})
	}
}

// TestTeaInstall walks the main path: pick the second disk, type its name
// wrong then right, choose a wipe, mismatch the passphrases once, add a
// recovery key, watch the install, quit from the summary.
func TestTeaInstall(t *testing.T) {
	b := &fakeBackend{disks: testDisks(), events: append(installEvents(),
		provision.Event{Step: provision.StepWipe, Kind: provision.EventDone, Message: "wiped"})}
	tm := startTea(t, b)
	waitOutput(t, tm, "Choose the data disk")
	tm.Send(key(tea.KeyDown))
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "virtio-SC-SPARE")
	tm.Send(key(tea.KeyEnter))
	tm.Type("virtio-SC-DATA")
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "does not match")
	tm.Type("virtio-SC-SPARE")
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "be wiped first?")
	tm.Send(key(tea.KeyDown))
	tm.Send(key(tea.KeyEnter)) // discard
	waitOutput(t, tm, "Choose the passphrase")
	tm.Type("correct horse battery")
	tm.Send(key(tea.KeyTab))
	tm.Type("correct horse batterx")
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "do not match")
	tm.Type("correct horse battery")
	tm.Send(key(tea.KeyEnter))
	tm.Type("correct horse battery")
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "Add a recovery key?")
	tm.Type("y")
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "only now:")
	tm.Send(key(tea.KeyEnter))
	waitOutput(t, tm, "Installed.")
	tm.Send(key(tea.KeyEnter))
	cancelled, res, err := outcome(t, tm)
	if cancelled || err != nil || res == nil || res.Disk != "virtio-SC-SPARE" {
		t.Fatalf("got cancelled %v, result %+v, err %v; want the install on virtio-SC-SPARE", cancelled, res, err)
	}
	if string(b.gotPW) != "correct horse battery" || !strings.HasPrefix(string(b.gotRK), "cccc-") {
		t.Errorf("install got passphrase %q and recovery key %q", b.gotPW, b.gotRK)
	}
}
