package tui

import (
	"context"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"simplecloud/disk"
	"simplecloud/provision"
)

// Backend is what the installer needs from the machine. cmd/simplecloud
// implements it over provision; tests use a fake. Plan is called on the UI
// goroutine and must be quick; Install runs on its own goroutine and calls
// sink from there.
type Backend interface {
	// Plan checks the choices against the disk and returns what the install
	// will do (provision.NewPlan).
	Plan(o provision.Options) (*provision.Plan, error)
	// RecoveryKey makes a new recovery key.
	RecoveryKey() (string, error)
	// Install carries out the plan (provision.Installer.Apply).
	Install(ctx context.Context, p *provision.Plan, sec provision.Secrets, sink provision.Sink) (*provision.Result, error)
}

type screen int

const (
	screenDisks screen = iota
	screenDetails
	screenConfirm
	screenWipe
	screenPassphrase
	screenRecovery
	screenProgress
	screenSummary
)

// Installer is the installer's bubbletea model. Build it with NewInstaller
// and run it with tea.NewProgram; afterwards Outcome says what happened.
type Installer struct {
	backend Backend
	opts    provision.Options
	disks   []disk.Disk
	screen  screen
	width   int
	height  int

	list    diskList
	chosen  *disk.Disk
	confirm lineInput
	wipeSel int
	pass    passForm
	recov   recoveryForm
	prog    progress

	plan *provision.Plan
	err  error // shown on the current screen

	cancel    context.CancelFunc
	cancelled bool
	result    *provision.Result
	failed    error
}

// NewInstaller returns the installer over the disks (with the guard's
// verdict applied), starting from the options given on the command line.
func NewInstaller(b Backend, disks []disk.Disk, o provision.Options) *Installer {
	return &Installer{backend: b, opts: o.WithDefaults(), disks: disks, list: newDiskList(disks), width: 80, height: 24}
}

// Outcome reports how the installer ended: cancelled before writing, a
// result, or the error that stopped the install.
func (m *Installer) Outcome() (cancelled bool, res *provision.Result, err error) {
	return m.cancelled, m.result, m.failed
}

// Init implements tea.Model.
func (m *Installer) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m *Installer) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		if msg.Width > 0 && msg.Height > 0 { // a serial console may report 0x0
			m.width, m.height = msg.Width, msg.Height
		}
		return m, nil
	case eventMsg, doneMsg:
		return m, m.updateProgress(msg)
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlC || msg.Type == tea.KeyEsc && m.screen < screenProgress && m.atFirstStep() {
			return m, m.quit()
		}
		return m, m.updateKey(msg)
	}
	return m, nil
}

// atFirstStep reports whether Esc should cancel rather than go back: on the
// disk list, Esc cancels; elsewhere it goes back a screen.
func (m *Installer) atFirstStep() bool { return m.screen == screenDisks }

// quit cancels before anything is written, or asks a running install to
// stop at once (it closes what it opened and says where it stopped).
func (m *Installer) quit() tea.Cmd {
	switch m.screen {
	case screenProgress:
		if m.cancel != nil {
			m.cancel()
		}
		return nil
	case screenSummary:
		return tea.Quit
	}
	m.cancelled = true
	m.pass.clear()
	m.recov.clear()
	return tea.Quit
}

func (m *Installer) updateKey(k tea.KeyMsg) tea.Cmd {
	m.err = nil
	if k.Type == tea.KeyEsc {
		m.back()
		return nil
	}
	switch m.screen {
	case screenDisks:
		return m.keyDisks(k)
	case screenDetails:
		return m.keyDetails(k)
	case screenConfirm:
		return m.keyConfirm(k)
	case screenWipe:
		return m.keyWipe(k)
	case screenPassphrase:
		return m.keyPassphrase(k)
	case screenRecovery:
		return m.keyRecovery(k)
	case screenSummary:
		if k.Type == tea.KeyEnter || k.String() == "q" {
			return tea.Quit
		}
	}
	return nil
}

// back goes to the previous screen; secrets typed so far are forgotten.
func (m *Installer) back() {
	switch m.screen {
	case screenDetails:
		m.screen = screenDisks
	case screenConfirm:
		m.confirm = lineInput{}
		m.screen = screenDetails
	case screenWipe:
		m.screen = screenConfirm
	case screenPassphrase:
		m.pass.clear()
		m.screen = screenWipe
	case screenRecovery:
		m.recov.clear()
		m.pass.clear()
		m.screen = screenPassphrase
	}
}

// View implements tea.Model.
func (m *Installer) View() string {
	var body, help string
	switch m.screen {
	case screenDisks:
		body, help = m.viewDisks(), "↑/↓ choose · Enter select · Esc/Ctrl-C cancel"
	case screenDetails:
		body, help = m.viewDetails(), "Enter use this disk · Esc back · Ctrl-C cancel"
	case screenConfirm:
		body, help = m.viewConfirm(), "Enter confirm · Esc back · Ctrl-C cancel"
	case screenWipe:
		body, help = m.viewWipe(), "↑/↓ choose · Enter select · Esc back · Ctrl-C cancel"
	case screenPassphrase:
		body, help = m.viewPassphrase(), "Tab/Enter next field · Esc back · Ctrl-C cancel"
	case screenRecovery:
		body, help = m.viewRecovery(), m.recov.help()
	case screenProgress:
		body, help = m.viewProgress(), "Ctrl-C stops the install"
	case screenSummary:
		body, help = m.viewSummary(), "Enter or q quits"
	}
	var b strings.Builder
	b.WriteString(titleStyle.Render("SimpleCloud installer") + dimStyle.Render(" · "+m.stepLabel()) + "\n\n")
	b.WriteString(body)
	if m.err != nil {
		b.WriteString("\n" + errorStyle.Render(wrap(m.err.Error(), sectionWidth)) + "\n")
	}
	b.WriteString("\n" + helpStyle.Render(help))
	return b.String()
}

func (m *Installer) stepLabel() string {
	return [...]string{"1/7 data disk", "2/7 disk details", "3/7 confirm", "4/7 wipe", "5/7 passphrase",
		"6/7 recovery key", "7/7 installing", "done"}[m.screen]
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
				out = append(out, line)
				line = w
				continue
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
