package tui

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// minPassphrase is the shortest passphrase the installer accepts.
const minPassphrase = 8

// passForm holds the passphrase typed twice. The bytes are zeroed when the
// form is cleared; they never go into a string.
type passForm struct {
	fields [2][]byte
	focus  int
}

func (p *passForm) clear() {
	for i := range p.fields {
		clear(p.fields[i])
		p.fields[i] = nil
	}
	p.focus = 0
}

func (p *passForm) key(k tea.KeyMsg) {
	f := &p.fields[p.focus]
	switch k.Type {
	case tea.KeyRunes, tea.KeySpace:
		for _, r := range k.Runes {
			*f = utf8.AppendRune(*f, r)
		}
	case tea.KeyBackspace:
		if len(*f) > 0 {
			_, n := utf8.DecodeLastRune(*f)
			clear((*f)[len(*f)-n:])
			*f = (*f)[:len(*f)-n]
		}
	case tea.KeyCtrlU:
		clear(*f)
		*f = (*f)[:0]
	}
}

// Strength estimates the entropy of a passphrase in bits from its length
// and the classes of characters it uses, and names it.
func Strength(p []byte) (bits float64, label string) {
	var lower, upper, digit, other bool
	n := 0
	for _, r := range string(p) {
		n++
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	pool := 0
	for _, c := range []struct {
		on   bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}} {
		if c.on {
			pool += c.size
		}
	}
	if pool > 0 {
		bits = float64(n) * math.Log2(float64(pool))
	}
	switch {
	case n < minPassphrase:
		label = "too short"
	case bits < 50:
		label = "weak"
	case bits < 70:
		label = "fair"
	case bits < 90:
		label = "good"
	default:
		label = "strong"
	}
	return bits, label
}

func (m *Installer) keyPassphrase(k tea.KeyMsg) tea.Cmd {
	p := &m.pass
	switch k.Type {
	case tea.KeyTab, tea.KeyShiftTab, tea.KeyUp, tea.KeyDown:
		p.focus = 1 - p.focus
		return nil
	case tea.KeyEnter:
	default:
		p.key(k)
		return nil
	}
	if p.focus == 0 {
		p.focus = 1
		return nil
	}
	switch {
	case len([]rune(string(p.fields[0]))) < minPassphrase:
		m.err = fmt.Errorf("the passphrase needs at least %d characters", minPassphrase)
	case !bytes.Equal(p.fields[0], p.fields[1]):
		m.err = errors.New("the passphrases do not match; type both again")
	default:
		m.recov = recoveryForm{want: m.opts.RecoveryKey}
		m.screen = screenRecovery
		return nil
	}
	p.clear()
	return nil
}

func (m *Installer) viewPassphrase() string {
	p := &m.pass
	var b strings.Builder
	b.WriteString("Choose the passphrase that unlocks the data disk at every boot.\n")
	b.WriteString("It cannot be recovered if lost (unless you add a recovery key next).\n\n")
	for i, label := range []string{"Passphrase", "Again     "} {
		mark := "  "
		if p.focus == i {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%s  %s\n", mark, label, strings.Repeat("*", utf8.RuneCount(p.fields[i])))
	}
	bits, label := Strength(p.fields[0])
	style := okStyle
	switch label {
	case "too short", "weak":
		style = errorStyle
	case "fair":
		style = warnStyle
	}
	if len(p.fields[0]) > 0 {
		fmt.Fprintf(&b, "\n  strength: %s (about %.0f bits)\n", style.Render(label), bits)
	}
	return b.String()
}

// recoveryForm asks whether to add a recovery key, then shows it once.
type recoveryForm struct {
	want bool   // the y/n choice
	key  []byte // the key, once made
}

func (r *recoveryForm) clear() {
	clear(r.key)
	r.key = nil
}

func (r *recoveryForm) help() string {
	if r.key != nil {
		return "Enter: I have written it down; start the install · Esc back · Ctrl-C cancel"
	}
	return "y/n choose · Enter start the install · Esc back · Ctrl-C cancel"
}

func (m *Installer) keyRecovery(k tea.KeyMsg) tea.Cmd {
	r := &m.recov
	if r.key == nil {
		switch k.String() {
		case "y", "Y":
			r.want = true
		case "n", "N":
			r.want = false
		case "enter":
			if !r.want {
				return m.start()
			}
			key, err := m.backend.RecoveryKey()
			if err != nil {
				m.err = err
				return nil
			}
			r.key = []byte(key)
		}
		return nil
	}
	if k.Type == tea.KeyEnter {
		return m.start()
	}
	return nil
}

func (m *Installer) viewRecovery() string {
	r := &m.recov
	if r.key == nil {
		yes, no := "[ ] yes", "[x] no"
		if r.want {
			yes, no = "[x] yes", "[ ] no"
		}
		return "A recovery key is a second, random key that also unlocks the disk.\n" +
			"Keep it somewhere safe, away from the server.\n\n" +
			"Add a recovery key?  " + yes + "   " + no + "\n"
	}
	groups := strings.Split(string(r.key), "-")
	half := (len(groups) + 1) / 2
	text := "Recovery key, shown\nonly now:\n\n" +
		keyBoxStyle.Render(strings.Join(groups[:half], "-")) + "\n" +
		keyBoxStyle.Render(strings.Join(groups[half:], "-")) + "\n\n" +
		"(groups of four joined\nby dashes)\n\nWrite it down or scan\nthe code, and keep it\naway from the server.\n"
	q, err := QRCode(string(r.key), QRLow, 1)
	if err != nil || m.height < 22 {
		return text
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, q, " ", text)
}
