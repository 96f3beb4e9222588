package tui

import (
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
	"simplecloud/provision"
)

// lineInput is a one-line text field that echoes what is typed.
type lineInput struct{ text []rune }

func (l *lineInput) key(k tea.KeyMsg) {
	switch k.Type {
	case tea.KeyRunes, tea.KeySpace:
		l.text = append(l.text, k.Runes...)
	case tea.KeyBackspace:
		if len(l.text) > 0 {
			l.text = l.text[:len(l.text)-1]
		}
	case tea.KeyCtrlU:
		l.text = nil
	}
}

func (m *Installer) keyConfirm(k tea.KeyMsg) tea.Cmd {
	if k.Type != tea.KeyEnter {
		m.confirm.key(k)
		return nil
	}
	if strings.TrimSpace(string(m.confirm.text)) != m.chosen.ID {
		m.err = errors.New("the name typed does not match the disk's; nothing was written")
		m.confirm = lineInput{}
		return nil
	}
	m.screen = screenWipe
	return nil
}

func (m *Installer) viewConfirm() string {
	d := m.chosen
	return wrap(fmt.Sprintf("Everything on %s (%s, %s) will be destroyed.", d.ID, d.Path, disk.Size(d.SizeBytes)), sectionWidth) +
		fmt.Sprintf("\n\nType the disk's name to confirm:\n  %s\n\n> %s█\n", titleStyle.Render(d.ID), string(m.confirm.text))
}

// wipeModes are the choices of the wipe screen, in order.
var wipeModes = []struct {
	mode wipe.Mode
	text string
}{
	{provision.WipeNone, "none     no wipe: old data stays on the disk until overwritten"},
	{wipe.Discard, "discard  TRIM the whole disk (fast, SSDs; erasure is up to the drive)"},
	{wipe.Zero, "zero     write zeroes over the whole disk"},
	{wipe.Random, "random   write random data over the whole disk"},
}

func (m *Installer) keyWipe(k tea.KeyMsg) tea.Cmd {
	switch k.String() {
	case "up", "k":
		if m.wipeSel > 0 {
			m.wipeSel--
		}
	case "down", "j":
		if m.wipeSel < len(wipeModes)-1 {
			m.wipeSel++
		}
	case "enter":
		m.opts.Wipe = wipeModes[m.wipeSel].mode
		m.opts.Disk = m.chosen.ID
		p, err := m.backend.Plan(m.opts)
		if err != nil {
			m.err = err
			return nil
		}
		m.plan = p
		m.pass = passForm{}
		m.screen = screenPassphrase
	}
	return nil
}

func (m *Installer) viewWipe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "How should this disk be wiped first?\n  %s\n\n", trunc(m.chosen.ID, 76))
	for i, w := range wipeModes {
		line := fmt.Sprintf("%-70s", trunc(w.text, 70))
		est := provision.EstimateWipe(w.mode, *m.chosen)
		if i == m.wipeSel {
			b.WriteString("> " + cursorStyle.Render(line) + "\n")
		} else {
			b.WriteString("  " + line + "\n")
		}
		b.WriteString(dimStyle.Render("           time: "+est) + "\n")
	}
	return b.String()
}
