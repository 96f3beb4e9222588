package tui

import (
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"simplecloud/disk"
)

// diskList is the cursor over the eligible disks; the others are shown but
// cannot be chosen.
type diskList struct {
	eligible []int // indexes into the disks
	cursor   int   // index into eligible
}

func newDiskList(ds []disk.Disk) diskList {
	var l diskList
	for i, d := range ds {
		if d.Eligible {
			l.eligible = append(l.eligible, i)
		}
	}
	return l
}

// maxReasons is how many reasons are shown under an excluded disk.
const maxReasons = 2

func (m *Installer) keyDisks(k tea.KeyMsg) tea.Cmd {
	l := &m.list
	switch k.String() {
	case "up", "k":
		if l.cursor > 0 {
			l.cursor--
		}
	case "down", "j":
		if l.cursor < len(l.eligible)-1 {
			l.cursor++
		}
	case "enter":
		if len(l.eligible) > 0 {
			d := m.disks[l.eligible[l.cursor]]
			m.chosen = &d
			m.screen = screenDetails
		}
	}
	return nil
}

func (m *Installer) viewDisks() string {
	var b strings.Builder
	b.WriteString("Choose the data disk. Everything on it will be destroyed.\n\n")
	sel := -1
	if len(m.list.eligible) > 0 {
		sel = m.list.eligible[m.list.cursor]
	}
	full := make([][]string, len(m.disks))
	compact := make([][]string, len(m.disks))
	for i, d := range m.disks {
		line := fmt.Sprintf("%-28s %-12s %10s  %-7s %s", trunc(d.ID, 28), d.Path, disk.Size(d.SizeBytes), d.Kind, trunc(d.Model, 16))
		switch {
		case i == sel:
			full[i] = []string{"> " + cursorStyle.Render(line)}
		case d.Eligible:
			full[i] = []string{"  " + line}
		default:
			full[i] = []string{"  " + dimStyle.Render(line)}
			for j, r := range d.Reasons {
				if j == maxReasons {
					full[i] = append(full[i], dimStyle.Render(fmt.Sprintf("      (+%d more reasons)", len(d.Reasons)-maxReasons)))
					break
				}
				line := "      " + r.Code + ": " + r.Detail
				if r.Override != "" {
					line += " (" + r.Override + ")"
				}
				full[i] = append(full[i], dimStyle.Render(trunc(line, sectionWidth)))
			}
			if len(d.Reasons) > 0 {
				compact[i] = []string{"  " + dimStyle.Render(trunc(line+"  "+d.Reasons[0].Code, sectionWidth))}
			}
		}
		if compact[i] == nil {
			compact[i] = full[i][:1]
		}
	}
	// Title, blank, this screen's header and blank, then blank and help.
	avail := m.height - 6
	if m.err != nil {
		avail -= 2
	}
	if len(m.list.eligible) == 0 {
		avail -= 3
	}
	for _, l := range fitEntries(full, compact, max(sel, 0), avail) {
		b.WriteString(l + "\n")
	}
	if len(m.list.eligible) == 0 {
		b.WriteString("\n" + warnStyle.Render(wrap("No disk can be the data disk. Free one (see the reasons above) and run the installer again.", sectionWidth)) + "\n")
	}
	return b.String()
}

// fitEntries lays out the disk list in at most avail lines: every entry
// with its reasons when that fits, else each entry on one line (compact),
// else a window of one-line entries that keeps entry sel in view, with a
// line saying how many more there are above and below.
func fitEntries(full, compact [][]string, sel, avail int) []string {
	count := func(es [][]string) (n int) {
		for _, e := range es {
			n += len(e)
		}
		return n
	}
	if count(full) <= avail {
		return slices.Concat(full...)
	}
	if len(compact) <= avail {
		return slices.Concat(compact...)
	}
	// Two lines go to the "more" notes.
	n := max(avail-2, 1)
	first := min(max(sel-n/2, 0), max(len(compact)-n, 0))
	last := min(first+n, len(compact))
	var out []string
	if first > 0 {
		out = append(out, dimStyle.Render(fmt.Sprintf("  ↑ %d more", first)))
	}
	out = append(out, slices.Concat(compact[first:last]...)...)
	if last < len(compact) {
		out = append(out, dimStyle.Render(fmt.Sprintf("  ↓ %d more", len(compact)-last)))
	}
	return out
}

func (m *Installer) keyDetails(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeyEnter {
		m.confirm = lineInput{}
		m.screen = screenConfirm
	}
	return nil
}

func (m *Installer) viewDetails() string {
	d := m.chosen
	var b strings.Builder
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-12s %s\n", k, v)
		}
	}
	b.WriteString(titleStyle.Render(d.ID) + "\n\n")
	row("device", d.Path+"  ("+d.Dev+")")
	row("size", fmt.Sprintf("%s (%d bytes)", disk.Size(d.SizeBytes), d.SizeBytes))
	row("kind", fmt.Sprintf("%s on %s", d.Kind, d.Bus))
	row("model", strings.TrimSpace(d.Vendor+" "+d.Model))
	row("serial", d.Serial)
	row("sectors", fmt.Sprintf("%d logical, %d physical bytes", d.LogicalBlockBytes, d.PhysicalBlockBytes))
	for _, id := range d.ByID {
		row("by-id", trunc(id, 60))
	}
	var sigs []string
	for _, s := range d.Signatures {
		sigs = append(sigs, s.String())
	}
	for _, p := range d.Partitions {
		for _, s := range p.Signatures {
			sigs = append(sigs, p.Name+": "+s.String())
		}
	}
	if len(sigs) == 0 {
		row("contents", "blank (no signature found)")
	} else {
		row("contents", strings.Join(sigs, ", "))
	}
	for _, r := range d.Reasons {
		if r.Allowed {
			row("allowed", r.Code+": "+r.Detail+" ("+r.Override+")")
		}
	}
	return b.String()
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
