package tui

import (
	"fmt"
	"strings"
	"testing"
)

func TestFitEntries(t *testing.T) {
	// Entry i has i%3+1 lines in full; "e<i>" is its first line.
	var full, compact [][]string
	for i := range 10 {
		var e []string
		for j := range i%3 + 1 {
			e = append(e, fmt.Sprintf("e%d.%d", i, j))
		}
		full = append(full, e)
		compact = append(compact, e[:1])
	}
	plain := func(ls []string) string {
		var out []string
		for _, l := range ls {
			out = append(out, strings.TrimSpace(l))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		sel, avail int
		want       string
	}{
		{0, 19, "e0.0 e1.0 e1.1 e2.0 e2.1 e2.2 e3.0 e4.0 e4.1 e5.0 e5.1 e5.2 e6.0 e7.0 e7.1 e8.0 e8.1 e8.2 e9.0"},
		{0, 18, "e0.0 e1.0 e2.0 e3.0 e4.0 e5.0 e6.0 e7.0 e8.0 e9.0"},
		{0, 10, "e0.0 e1.0 e2.0 e3.0 e4.0 e5.0 e6.0 e7.0 e8.0 e9.0"},
		{0, 6, "e0.0 e1.0 e2.0 e3.0 ↓ 6 more"},
		{5, 6, "↑ 3 more e3.0 e4.0 e5.0 e6.0 ↓ 3 more"},
		{9, 6, "↑ 6 more e6.0 e7.0 e8.0 e9.0"},
		{4, 1, "↑ 4 more e4.0 ↓ 5 more"}, // never less than the chosen disk
	} {
		if got := plain(fitEntries(full, compact, c.sel, c.avail)); got != c.want {
			t.Errorf("sel %d in %d lines:\ngot  %s\nwant %s", c.sel, c.avail, got, c.want)
		}
	}
}
