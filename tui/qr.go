package tui

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// QR levels for QRCode: L recovers 7% of the code, M 15% at the cost of a
// larger code.
const (
	QRLow    = qr.L
	QRMedium = qr.M
)

// QRCode renders text as a QR code for a terminal: two rows of modules per
// line with half blocks, drawn black on white with explicit colours so that
// it scans on dark and light terminals alike, and quiet modules of white
// around it (the standard asks for 4; 1 or 2 fit a screen and scan). level
// trades size for error correction: the installer's 80x24 screen needs
// QRLow.
func QRCode(text string, level qr.Level, quiet int) (string, error) {
	c, err := qr.Encode(text, level)
	if err != nil {
		return "", fmt.Errorf("encode QR code: %w", err)
	}
	n := c.Size + 2*quiet
	black := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		return x >= 0 && y >= 0 && x < c.Size && y < c.Size && c.Black(x, y)
	}
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		b.WriteString("\x1b[30;47m") // black on white
		for x := 0; x < n; x++ {
			top, bottom := black(x, y), y+1 < n && black(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString("\x1b[0m\n")
	}
	return b.String(), nil
}
