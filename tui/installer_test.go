package tui

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"simplecloud/disk"
	"simplecloud/provision"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii) // goldens without escape codes
	os.Exit(m.Run())
}

// testDisks is what discovery finds on a machine with a system disk, a
// blank data disk and a USB stick.
func testDisks() []disk.Disk {
	return []disk.Disk{
		{Name: "vdb", Path: "/dev/vdb", ID: "virtio-SC-DATA", Dev: "254:16", ByID: []string{"virtio-SC-DATA"},
			SizeBytes: 2 << 40, LogicalBlockBytes: 512, PhysicalBlockBytes: 4096, Kind: disk.KindHDD, Bus: "virtio",
			Model: "WDC WD20EFRX", Serial: "SC-DATA", Eligible: true},
		{Name: "vdc", Path: "/dev/vdc", ID: "virtio-SC-SPARE", Dev: "254:32", SizeBytes: 500 << 30,
			LogicalBlockBytes: 512, PhysicalBlockBytes: 512, Kind: disk.KindSSD, Bus: "virtio", Eligible: true},
		{Name: "vda", Path: "/dev/vda", ID: "virtio-SC-SYSTEM", Dev: "254:0", SizeBytes: 64 << 30, Kind: disk.KindSSD, Bus: "virtio",
			Reasons: []disk.Reason{
				{Code: disk.ReasonSystem, Detail: "vda1 holds the running system's /"},
				{Code: disk.ReasonMounted, Detail: "vda1 is mounted at /"},
				{Code: disk.ReasonSignature, Detail: "vda carries a gpt partition table", Override: disk.FlagAllowSignature},
			}},
		{Name: "sda", Path: "/dev/sda", ID: "usb-SanDisk_Cruzer_1234", Dev: "8:0", SizeBytes: 16 << 30, Kind: disk.KindSSD, Bus: "usb",
			Removable: true, Reasons: []disk.Reason{{Code: disk.ReasonRemovable, Detail: "sda is removable (usb)", Override: disk.FlagAllowRemovable}}},
	}
}

// fakeBackend plans with the real (pure) provision.NewPlan and installs by
// replaying events.
type fakeBackend struct {
	disks  []disk.Disk
	events []provision.Event
	err    error
	gotPW  []byte // a copy of the passphrase Install received
	gotRK  []byte
}

func (f *fakeBackend) Plan(o provision.Options) (*provision.Plan, error) {
	d, ok := disk.Find(f.disks, o.Disk)
	if !ok {
		return nil, errors.New("no such disk")
	}
	return provision.NewPlan(o, *d, nil, nil)
}

func (f *fakeBackend) RecoveryKey() (string, error) {
	return "cccc-bbbb-dddd-eeee-ffff-gggg-hhhh-iiii-jjjj-kkkk-llll-nnnn-rrrr-tttt-uuuu-vvvv", nil
}

func (f *fakeBackend) Install(ctx context.Context, p *provision.Plan, sec provision.Secrets, sink provision.Sink) (*provision.Result, error) {
	f.gotPW = append([]byte(nil), sec.Passphrase...)
	f.gotRK = append([]byte(nil), sec.RecoveryKey...)
	for _, e := range f.events {
		sink(e)
	}
	if f.err != nil {
		return nil, f.err
	}
	return &provision.Result{Disk: p.Disk.ID, Target: p.Target, UUID: "3f2a1c9e-7d41-4b8e-9a0f-5c6d7e8f9a0b",
		Mapper: "/dev/mapper/simplecloud", Mount: p.Options.Mount, Keyslots: 2,
		Ext4: provision.Ext4Info{Label: "simplecloud"}, Config: "/etc/simplecloud/simplecloud.toml",
		Handoff: "units enabled; simplecloud-serve.service is starting"}, nil
}

func key(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }
func runes(s string) tea.KeyMsg    { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// press feeds messages to the model synchronously. It does not run the
// commands Update returns (one of them waits for install events); tests feed
// those events themselves.
func press(m *Installer, msgs ...tea.Msg) {
	for _, msg := range msgs {
		m.Update(msg)
	}
}

// seq joins key sequences into a new slice (append on a shared prefix
// would let the cases overwrite each other).
func seq(parts ...[]tea.Msg) []tea.Msg {
	var out []tea.Msg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func keys(msgs ...tea.Msg) []tea.Msg { return msgs }

var (
	toDetails    = keys(key(tea.KeyEnter))
	toConfirm    = seq(toDetails, keys(key(tea.KeyEnter)))
	toWipe       = seq(toConfirm, keys(runes("virtio-SC-DATA"), key(tea.KeyEnter)))
	toPassphrase = seq(toWipe, keys(key(tea.KeyDown), key(tea.KeyDown), key(tea.KeyEnter))) // zero
	toRecovery   = seq(toPassphrase, keys(runes("correct horse battery"), key(tea.KeyEnter), runes("correct horse battery"), key(tea.KeyEnter)))
)

func newTestInstaller(b *fakeBackend) *Installer {
	m := NewInstaller(b, b.disks, provision.Options{})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m
}

func installEvents() []provision.Event {
	return []provision.Event{
		{Step: provision.StepGuard, Kind: provision.EventStarted},
		{Step: provision.StepGuard, Kind: provision.EventDone, Message: "virtio-SC-DATA (/dev/vdb) is still eligible"},
		{Step: provision.StepWipe, Kind: provision.EventStarted},
		{Step: provision.StepWipe, Kind: provision.EventProgress, Done: 1 << 40, Total: 2 << 40, RatePerSec: 150 << 20, ETASeconds: 3600},
	}
}

// TestScreens renders every screen at 80x24 and compares it with its golden
// file (go test ./tui -update rewrites them).
func TestScreens(t *testing.T) {
	done := append(installEvents(),
		provision.Event{Step: provision.StepWipe, Kind: provision.EventDone, Message: "zero wiped 2.0 TiB"},
		provision.Event{Step: provision.StepFormat, Kind: provision.EventInfo, Message: "KDF benchmark: argon2id, 4 iterations, 1048576 KiB, 4 threads: 2s"})
	for _, tc := range []struct {
		name   string
		msgs   []tea.Msg
		events []provision.Event
		err    error
	}{
		{"disks", nil, nil, nil},
		{"disks_second", []tea.Msg{key(tea.KeyDown), key(tea.KeyDown)}, nil, nil},
		{"details", toDetails, nil, nil},
		{"confirm_typing", seq(toConfirm, keys(runes("virtio-SC"))), nil, nil},
		{"confirm_mismatch", seq(toConfirm, keys(runes("virtio-SC-SPARE"), key(tea.KeyEnter))), nil, nil},
		{"wipe", seq(toWipe, keys(key(tea.KeyDown), key(tea.KeyDown))), nil, nil},
		{"passphrase_strength", seq(toPassphrase, keys(runes("Tr0ub4dor&3"))), nil, nil},
		{"passphrase_mismatch", seq(toPassphrase, keys(runes("correct horse battery"), key(tea.KeyEnter), runes("correct horse batter"), key(tea.KeyEnter))), nil, nil},
		{"passphrase_short", seq(toPassphrase, keys(runes("short"), key(tea.KeyEnter), runes("short"), key(tea.KeyEnter))), nil, nil},
		{"recovery_ask", toRecovery, nil, nil},
		{"recovery_key", seq(toRecovery, keys(runes("y"), key(tea.KeyEnter))), nil, nil},
		{"progress", seq(toRecovery, keys(key(tea.KeyEnter))), installEvents(), errHold},
		{"summary", seq(toRecovery, keys(runes("y"), key(tea.KeyEnter), key(tea.KeyEnter))), done, nil},
		{"failed", seq(toRecovery, keys(key(tea.KeyEnter))), append(done, provision.Event{Step: provision.StepFormat, Kind: provision.EventFailed, Error: "format /dev/vdb1: write: input/output error"}), errors.New("format /dev/vdb1: write: input/output error")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{disks: testDisks()}
			m := newTestInstaller(b)
			m.backend = &holdBackend{fakeBackend: b}
			press(m, tc.msgs...)
			for _, e := range tc.events {
				m.Update(eventMsg{e: e})
			}
			if tc.err != errHold && m.screen == screenProgress {
				res, _ := b.Install(context.Background(), m.plan, provision.Secrets{}, func(provision.Event) {})
				if tc.err != nil {
					res = nil
				}
				m.Update(doneMsg{res: res, err: tc.err})
			}
			if m.cancel != nil {
				m.cancel()
			}
			checkFits(t, m.View())
			golden.RequireEqual(t, []byte(m.View()))
		})
	}
}

// checkFits fails when a view would not fit a terminal of 80x24.
func checkFits(t *testing.T, view string) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > 24 {
		t.Errorf("got %d lines, want at most 24", len(lines))
	}
	for _, l := range lines {
		if w := lipgloss.Width(l); w > 80 {
			t.Errorf("got a line of %d cells, want at most 80: %q", w, l)
		}
	}
}

var errHold = errors.New("hold")

// holdBackend's Install waits until it is cancelled; the test feeds the
// events.
type holdBackend struct{ *fakeBackend }

func (h *holdBackend) Install(ctx context.Context, p *provision.Plan, sec provision.Secrets, sink provision.Sink) (*provision.Result, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestScreenNoEligibleDisk: with no eligible disk, Enter does nothing and the
// screen says why.
func TestScreenNoEligibleDisk(t *testing.T) {
	ds := testDisks()[2:]
	b := &fakeBackend{disks: ds}
	m := NewInstaller(b, ds, provision.Options{})
	press(m, key(tea.KeyEnter), key(tea.KeyDown), key(tea.KeyEnter))
	if m.screen != screenDisks {
		t.Errorf("got screen %d, want the disk list", m.screen)
	}
	checkFits(t, m.View())
	golden.RequireEqual(t, []byte(m.View()))
}
