package tui

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// modules reads a rendered code back: per line, two rows of modules, true
// where the glyph's half is drawn in the foreground (black).
func modules(t *testing.T, s string) [][]bool {
	t.Helper()
	var rows [][]bool
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		body, okStart := strings.CutPrefix(line, "\x1b[30;47m")
		body, okEnd := strings.CutSuffix(body, "\x1b[0m")
		if !okStart || !okEnd {
			t.Fatalf("line %q is not black on white, reset at its end", line)
		}
		var top, bottom []bool
		for _, r := range body {
			top = append(top, r == '█' || r == '▀')
			bottom = append(bottom, r == '█' || r == '▄')
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

// TestQRCode checks every module of the rendering against rsc.io/qr's
// encoding, and the quiet zone around it.
func TestQRCode(t *testing.T) {
	const key = "cbde-fghi-jkln-rtuv-cbde-fghi-jkln-rtuv-cbde-fghi-jkln-rtuv-cbde-fghi-jkln-rtuv"
	for _, c := range []struct {
		name         string
		level        qr.Level
		quiet        int
		wantW, wantH int // in character cells
	}{
		{"installer screen", QRLow, 1, 39, 20},
		{"recovery-key --qr", QRMedium, 2, 41, 21},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := QRCode(key, c.level, c.quiet)
			if err != nil {
				t.Fatal(err)
			}
			code, err := qr.Encode(key, c.level)
			if err != nil {
				t.Fatal(err)
			}
			rows := modules(t, s)
			if h, w := len(rows)/2, len(rows[0]); w != c.wantW || h != c.wantH {
				t.Errorf("got %dx%d cells, want %dx%d", w, h, c.wantW, c.wantH)
			}
			n := code.Size + 2*c.quiet
			for y := range n {
				for x := range n {
					cx, cy := x-c.quiet, y-c.quiet
					want := cx >= 0 && cy >= 0 && cx < code.Size && cy < code.Size && code.Black(cx, cy)
					if rows[y][x] != want {
						t.Fatalf("module (%d, %d): got black %v, want %v", cx, cy, rows[y][x], want)
					}
				}
			}
		})
	}
}
