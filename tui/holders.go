package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"simplecloud/disk/holders"
)

// HoldersScanner finds what holds a device; *holders.Scanner is one. The
// screen calls Scan from a command goroutine, one call at a time.
type HoldersScanner interface {
	Scan(ctx context.Context, target string) (holders.Report, error)
}

// Holders is the screen of simplecloud close on a terminal: it shows what
// holds the device, rescanning every Interval, and lets the user choose per
// process whether to stop it (SIGTERM, or its systemd unit), kill it
// (SIGKILL after the grace time) or skip it. Enter proceeds, Esc cancels.
// Build it with NewHolders and run it with tea.NewProgram; afterwards
// Outcome says what was chosen.
type Holders struct {
	src      HoldersScanner
	target   string
	Interval time.Duration

	rep     holders.Report
	err     error
	choices map[int]holders.Action
	def     holders.Action
	cursor  int
	scans   int

	proceed, done bool
}

// NewHolders returns the screen for target, starting from the report of a
// first scan. kill makes "kill" the default action instead of "stop".
func NewHolders(src HoldersScanner, target string, first holders.Report, kill bool) *Holders {
	def := holders.ActionStop
	if kill {
		def = holders.ActionKill
	}
	return &Holders{src: src, target: target, Interval: time.Second, rep: first,
		choices: map[int]holders.Action{}, def: def}
}

// Outcome reports whether the user chose to proceed, the action for every
// process of the last report, and that report.
func (m *Holders) Outcome() (proceed bool, choices map[int]holders.Action, last holders.Report) {
	out := make(map[int]holders.Action, len(m.rep.Processes))
	for _, p := range m.rep.Processes {
		out[p.PID] = m.action(p.PID)
	}
	return m.proceed, out, m.rep
}

func (m *Holders) action(pid int) holders.Action {
	if a, ok := m.choices[pid]; ok {
		return a
	}
	return m.def
}

type holdersTick struct{}

type holdersScanned struct {
	rep holders.Report
	err error
}

func (m *Holders) tick() tea.Cmd {
	return tea.Tick(m.Interval, func(time.Time) tea.Msg { return holdersTick{} })
}

func (m *Holders) scan() tea.Msg {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := m.src.Scan(ctx, m.target)
	return holdersScanned{rep, err}
}

// Init starts the rescans.
func (m *Holders) Init() tea.Cmd { return m.tick() }

// Update handles keys and scan results.
func (m *Holders) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case holdersTick:
		if m.done {
			return m, nil
		}
		return m, m.scan
	case holdersScanned:
		m.scans++
		m.err = msg.err
		if msg.err == nil {
			m.rep = msg.rep
			m.cursor = min(m.cursor, max(len(m.rep.Processes)-1, 0))
		}
		return m, m.tick()
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Holders) key(k tea.KeyMsg) tea.Cmd {
	n := len(m.rep.Processes)
	switch k.String() {
	case "up", "k":
		m.cursor = max(m.cursor-1, 0)
	case "down", "j":
		m.cursor = min(m.cursor+1, max(n-1, 0))
	case "s", "x", "n", " ":
		if n == 0 {
			return nil
		}
		pid := m.rep.Processes[m.cursor].PID
		switch k.String() {
		case "s":
			m.choices[pid] = holders.ActionStop
		case "x":
			m.choices[pid] = holders.ActionKill
		case "n":
			m.choices[pid] = holders.ActionSkip
		default: // space cycles stop -> kill -> skip
			next := map[holders.Action]holders.Action{holders.ActionStop: holders.ActionKill,
				holders.ActionKill: holders.ActionSkip, holders.ActionSkip: holders.ActionStop}
			m.choices[pid] = next[m.action(pid)]
		}
	case "enter":
		m.proceed, m.done = true, true
		return tea.Quit
	case "esc", "q", "ctrl+c":
		m.done = true
		return tea.Quit
	}
	return nil
}

// View draws the screen.
func (m *Holders) View() string {
	var b strings.Builder
	r := m.rep
	name := r.Name
	if r.DMName != "" {
		name = r.DMName + " (" + r.Name + ")"
	}
	b.WriteString(titleStyle.Render(fmt.Sprintf("Close %s: what keeps %s busy", m.target, name)) + "\n")
	b.WriteString(dimStyle.Render(fmt.Sprintf("device %s, rescanned every %v", r.Dev, m.Interval)) + "\n\n")
	if len(r.Processes) == 0 {
		b.WriteString("No process holds it.\n")
	} else {
		b.WriteString(fmt.Sprintf("  %-6s %-7s %-8s %-16s %s\n", "ACTION", "PID", "USER", "UNIT", "HOLDS / COMMAND"))
	}
	for i, p := range r.Processes {
		act := m.action(p.PID)
		if p.OnlyMountNS() {
			act = "-" // freed by unmounting in its namespace
		}
		unit := p.Unit
		if unit == "" {
			unit = "-"
		}
		line := fmt.Sprintf("%-6s %-7d %-8s %-16s %s", act, p.PID, shortText(p.User, 8), shortText(unit, 16),
			shortText(holders.HoldSummary(p.Holds)+"  "+p.Command, sectionWidth-43))
		if i == m.cursor {
			line = cursorStyle.Render("> " + line)
		} else {
			line = "  " + line
		}
		b.WriteString(line + "\n")
	}
	var also []string
	for _, mt := range r.Mounts {
		where := "here"
		if !mt.Initial {
			where = fmt.Sprintf("in namespace %d", mt.Namespace)
		}
		also = append(also, fmt.Sprintf("unmount %s %s", mt.MountPoint, where))
	}
	for _, s := range r.Swaps {
		also = append(also, "swapoff "+s.Path)
	}
	for _, l := range r.Loops {
		also = append(also, "detach "+l.Name+" (backed by "+l.BackingFile+")")
	}
	for _, s := range r.Stacked {
		also = append(also, "remove "+s.Kind+" "+s.Name)
	}
	for _, k := range r.Kernel {
		also = append(also, "cannot release: "+k)
	}
	if len(also) > 0 {
		b.WriteString("\nThen:\n")
		for _, a := range also {
			b.WriteString("  " + shortText(a, sectionWidth-2) + "\n")
		}
	}
	if m.err != nil {
		b.WriteString("\n" + errorStyle.Render("rescan failed: "+m.err.Error()) + "\n")
	}
	b.WriteString("\n" + helpStyle.Render("↑/↓ move  s stop  x kill  n skip  space cycle  enter close  esc cancel") + "\n")
	return b.String()
}

func shortText(s string, n int) string {
	if len(s) <= n || n < 4 {
		return s
	}
	return s[:n-3] + "..."
}
