package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"simplecloud/disk"
	"simplecloud/provision"
)

// eventMsg carries one event of the running install to the UI goroutine.
type eventMsg struct {
	e  provision.Event
	ch <-chan tea.Msg
}

// doneMsg says the install returned.
type doneMsg struct {
	res *provision.Result
	err error
}

// stepState is what the progress screen knows of one planned step.
type stepState struct {
	name   provision.StepName
	detail string
	state  provision.EventKind // "" pending, started, done, failed
	note   string
	last   provision.Event // last progress event
}

type progress struct {
	steps []stepState
	info  []string // KDF benchmark, UUID
}

// start hands the secrets to the backend on its own goroutine and switches
// to the progress screen. The form's copies are zeroed when the install
// returns.
func (m *Installer) start() tea.Cmd {
	m.screen = screenProgress
	m.prog = progress{}
	for _, s := range m.plan.Steps {
		m.prog.steps = append(m.prog.steps, stepState{name: s.Name, detail: s.Detail})
	}
	sec := provision.Secrets{Passphrase: m.pass.fields[0], RecoveryKey: m.recov.key}
	clear(m.pass.fields[1])
	m.pass, m.recov = passForm{}, recoveryForm{}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	ch := make(chan tea.Msg, 64)
	plan, b := m.plan, m.backend
	go func() {
		res, err := b.Install(ctx, plan, sec, func(e provision.Event) { ch <- eventMsg{e: e, ch: ch} })
		clear(sec.Passphrase)
		clear(sec.RecoveryKey)
		ch <- doneMsg{res: res, err: err}
		close(ch)
	}()
	return waitFor(ch)
}

// waitFor returns a command that delivers the next message of ch.
func waitFor(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg { return <-ch }
}

func (m *Installer) updateProgress(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventMsg:
		m.prog.apply(msg.e)
		return waitFor(msg.ch)
	case doneMsg:
		m.cancel()
		m.result, m.failed = msg.res, msg.err
		m.screen = screenSummary
	}
	return nil
}

func (p *progress) apply(e provision.Event) {
	if e.Kind == provision.EventInfo {
		p.info = append(p.info, string(e.Step)+": "+e.Message)
		if len(p.info) > 3 {
			p.info = p.info[len(p.info)-3:]
		}
		return
	}
	for i := range p.steps {
		s := &p.steps[i]
		if s.name != e.Step {
			continue
		}
		switch e.Kind {
		case provision.EventProgress:
			s.last = e
		default:
			s.state = e.Kind
			s.note = e.Message
			if e.Kind == provision.EventFailed {
				s.note = e.Error
			}
		}
	}
}

func (m *Installer) viewProgress() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Installing on %s\n\n", trunc(m.chosen.ID, 64))
	for _, s := range m.prog.steps {
		mark := dimStyle.Render("·")
		note := s.detail
		switch s.state {
		case provision.EventStarted:
			mark = warnStyle.Render("›")
		case provision.EventDone:
			mark, note = okStyle.Render("✓"), s.note
		case provision.EventFailed:
			mark, note = errorStyle.Render("✗"), s.note
		case provision.EventSkipped:
			mark, note = dimStyle.Render("-"), s.note
		}
		fmt.Fprintf(&b, " %s %-9s %s\n", mark, s.name, trunc(note, 64))
		if s.state == provision.EventStarted && s.last.Total > 0 {
			b.WriteString("             " + progressBar(s.last, 30) + "\n")
		}
	}
	if len(m.prog.info) > 0 {
		b.WriteString("\n")
		for _, l := range m.prog.info {
			b.WriteString(dimStyle.Render(" "+trunc(l, 76)) + "\n")
		}
	}
	return b.String()
}

// progressBar draws "[#####.....]  42.0%  120 MiB/s  ETA 1m3s".
func progressBar(e provision.Event, width int) string {
	frac := float64(e.Done) / float64(e.Total)
	n := min(int(frac*float64(width)), width)
	s := "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]" + fmt.Sprintf(" %5.1f%%", 100*frac)
	if e.RatePerSec > 0 {
		s += "  " + disk.Size(uint64(e.RatePerSec)) + "/s"
	}
	if e.ETASeconds > 0 {
		s += "  ETA " + (time.Duration(e.ETASeconds) * time.Second).String()
	}
	return s
}

func (m *Installer) viewSummary() string {
	var b strings.Builder
	if m.failed != nil {
		b.WriteString(errorStyle.Render("The install stopped.") + "\n\n")
		for _, s := range m.prog.steps {
			if s.state == provision.EventFailed {
				fmt.Fprintf(&b, "Step %s failed:\n", s.name)
			}
		}
		b.WriteString(wrap(m.failed.Error(), sectionWidth) + "\n\n")
		b.WriteString(wrap("Nothing is left open. Running simplecloud install again on the same disk continues from here.", sectionWidth) + "\n")
		return b.String()
	}
	r := m.result
	b.WriteString(okStyle.Render("Installed.") + " The data disk is " + trunc(r.Disk, 50) + ".\n\n")
	fmt.Fprintf(&b, "  volume      LUKS2 on %s, %d keyslot(s)\n", r.Target, r.Keyslots)
	fmt.Fprintf(&b, "  UUID        %s\n", r.UUID)
	fmt.Fprintf(&b, "  filesystem  ext4, label %s, %d reserved blocks\n", r.Ext4.Label, r.Ext4.ReservedBlocks)
	fmt.Fprintf(&b, "  mounted at  %s\n", r.Mount)
	fmt.Fprintf(&b, "  config      %s\n", r.Config)
	fmt.Fprintf(&b, "  server      %s\n\n", trunc(r.Handoff, 64))
	b.WriteString("At every boot the console asks for the passphrase (simplecloud unlock).\n")
	port := m.opts.Listen[strings.LastIndex(m.opts.Listen, ":")+1:]
	fmt.Fprintf(&b, "Connect with: ssh -p %s USER@SERVER, or sshfs -p %s USER@SERVER: DIR\n", port, port)
	return b.String()
}
