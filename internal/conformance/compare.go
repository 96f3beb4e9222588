package conformance

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Comparison is two runs of a suite side by side: ours and the reference's.
type Comparison struct {
	Ours, Ref Results
	// Groups count passed cases per group (pjdfstest: per directory), in
	// name order.
	Groups []Group
	// Regressions are the cases the reference passes and ours does not,
	// in ID order; cases listed as not applicable are left out.
	Regressions []string
	// Gains are the cases ours passes and the reference does not.
	Gains []string
	// NotApplicable maps the IDs of cases that do not apply to ours to
	// why; they are shown, never counted against ours.
	NotApplicable map[string]string
}

// Group is the number of cases of one group that each side passed.
type Group struct {
	Name      string
	Ours, Ref int
	Cases     int // cases in either run
}

// Compare compares ours with ref. group names the group of a case ID;
// notApplicable lists cases that do not apply to ours, with the reason. A
// case missing from one run counts as failed there.
func Compare(ours, ref Results, group func(id string) string, notApplicable map[string]string) Comparison {
	c := Comparison{Ours: ours, Ref: ref, NotApplicable: notApplicable}
	byName := map[string]*Group{}
	for _, id := range unionIDs(ours, ref) {
		name := group(id)
		g := byName[name]
		if g == nil {
			g = &Group{Name: name}
			byName[name] = g
		}
		g.Cases++
		o, r := ours[id].Pass, ref[id].Pass
		if o {
			g.Ours++
		}
		if r {
			g.Ref++
		}
		if r && !o {
			if _, na := notApplicable[id]; !na {
				c.Regressions = append(c.Regressions, id)
			}
		}
		if o && !r {
			c.Gains = append(c.Gains, id)
		}
	}
	for _, g := range byName {
		c.Groups = append(c.Groups, *g)
	}
	slices.SortFunc(c.Groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return c
}

// unionIDs returns the IDs of a and b in natural order: "x 2" before "x 10".
func unionIDs(a, b Results) []string {
	var ids []string
	for id := range a {
		ids = append(ids, id)
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, naturalCompare)
	return ids
}

// naturalCompare orders IDs of the form "file N" by file, then by the number N.
func naturalCompare(a, b string) int {
	fa, na, _ := strings.Cut(a, " ")
	fb, nb, _ := strings.Cut(b, " ")
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	ia, errA := strconv.Atoi(na)
	ib, errB := strconv.Atoi(nb)
	if errA == nil && errB == nil {
		return cmp.Compare(ia, ib)
	}
	return strings.Compare(na, nb)
}

// Fewer returns the groups in which ours passes fewer cases than the reference.
func (c Comparison) Fewer() []Group {
	var fewer []Group
	for _, g := range c.Groups {
		if g.Ours < g.Ref {
			fewer = append(fewer, g)
		}
	}
	return fewer
}

// WriteCounts writes the per-group table: passed by ours, passed by the
// reference, cases, and a total, as a Markdown table.
func (c Comparison) WriteCounts(w io.Writer, title, ours, ref string) {
	fmt.Fprintf(w, "| %s | %s | %s | cases |\n|---|--:|--:|--:|\n", title, ours, ref)
	var t Group
	for _, g := range c.Groups {
		mark := ""
		if g.Ours < g.Ref {
			mark = " **fewer**"
		}
		fmt.Fprintf(w, "| %s | %d%s | %d | %d |\n", g.Name, g.Ours, mark, g.Ref, g.Cases)
		t.Ours, t.Ref, t.Cases = t.Ours+g.Ours, t.Ref+g.Ref, t.Cases+g.Cases
	}
	fmt.Fprintf(w, "| total | %d | %d | %d |\n", t.Ours, t.Ref, t.Cases)
}

// WriteCases writes every case with each side's status, as a Markdown
// table; cases that do not apply to ours carry the reason.
func (c Comparison) WriteCases(w io.Writer, title, ours, ref string) {
	fmt.Fprintf(w, "| %s | %s | %s |\n|---|---|---|\n", title, ours, ref)
	for _, id := range unionIDs(c.Ours, c.Ref) {
		o := status(c.Ours, id)
		if why, ok := c.NotApplicable[id]; ok {
			o += " (not applicable: " + why + ")"
		} else if c.Ref[id].Pass && !c.Ours[id].Pass {
			o = "**" + o + "**"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", id, o, status(c.Ref, id))
	}
}

// WriteRegressions writes the cases the reference passes and ours does
// not, one a line with what ours reported, under a heading per group.
func (c Comparison) WriteRegressions(w io.Writer, group func(id string) string) {
	last := ""
	for _, id := range c.Regressions {
		if g := group(id); g != last {
			fmt.Fprintf(w, "\n%s:\n", g)
			last = g
		}
		r := c.Ours[id]
		line := status(c.Ours, id)
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		fmt.Fprintf(w, "  %s  %s\n", id, line)
	}
}

// status is how a case's outcome shows in a table: "missing" when the run
// did not have it.
func status(res Results, id string) string {
	r, ok := res[id]
	if !ok {
		return "missing"
	}
	return r.Status
}
