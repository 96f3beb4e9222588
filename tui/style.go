package tui

import "github.com/charmbracelet/lipgloss"

// Styles of the screens. On a terminal without colours (a serial console,
// or tests) lipgloss renders them as plain text.
var (
	titleStyle   = lipgloss.NewStyle().Bold(true)
	dimStyle     = lipgloss.NewStyle().Faint(true)
	cursorStyle  = lipgloss.NewStyle().Reverse(true)
	errorStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Bold(true)
	okStyle      = lipgloss.NewStyle().Foreground(lipgloss.Color("10"))
	warnStyle    = lipgloss.NewStyle().Foreground(lipgloss.Color("11"))
	helpStyle    = lipgloss.NewStyle().Faint(true)
	keyBoxStyle  = lipgloss.NewStyle().Bold(true)
	sectionWidth = 78
)
