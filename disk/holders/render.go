package holders

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	// About 320 bytes per process: most reports fit at once.
	size := 4<<10 + 384*len(r.Processes)
	if _, err := w.Write(appendReport(make([]byte, 0, size), r)); err != nil {
		return fmt.Errorf("write holders as JSON: %w", err)
	}
	return nil
}

// WriteTable writes the report for people: the device, then one section per
// kind of holder that is present.
func WriteTable(w io.Writer, r Report) error {
	name := r.Name
	if r.DMName != "" {
		name += " (" + r.DMName + ")"
	}
	fmt.Fprintf(w, "%s: device %s %s\n", r.Target, r.Dev, name)
	if !r.Busy() {
		fmt.Fprintln(w, "nothing holds it")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Processes) > 0 {
		fmt.Fprintln(tw, "\nPID\tUSER\tUNIT\tHOLDS\tCOMMAND")
		for _, p := range r.Processes {
			unit := p.Unit
			if unit == "" {
				unit = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", p.PID, p.User, unit, HoldSummary(p.Holds), shorten(p.Command, 60))
		}
	}
	if len(r.Mounts) > 0 {
		fmt.Fprintln(tw, "\nMOUNT\tDEVICE\tFSTYPE\tNAMESPACE\tPIDS")
		for _, m := range r.Mounts {
			ns := strconv.FormatUint(m.Namespace, 10)
			if m.Initial {
				ns += " (this)"
			}
			dev := m.Dev.String()
			if m.Submount {
				dev += " (inside " + m.Under.String() + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.MountPoint, dev, m.FSType, ns, pidList(m.PIDs, 8))
		}
	}
	for _, s := range r.Swaps {
		fmt.Fprintf(tw, "\nswap\t%s\ton %s\n", s.Path, s.Dev)
	}
	for _, l := range r.Loops {
		fmt.Fprintf(tw, "\nloop\t%s (%s)\tbacked by %s\ton %s\n", l.Name, l.Dev, l.BackingFile, l.On)
	}
	for _, s := range r.Stacked {
		n := s.Name
		if s.DMName != "" {
			n += " (" + s.DMName + ")"
		}
		fmt.Fprintf(tw, "\nstacked\t%s %s (%s)\ton %s\n", s.Kind, n, s.Dev, s.On)
	}
	for _, k := range r.Kernel {
		fmt.Fprintf(tw, "\nkernel\t%s\n", k)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(tw, "\nwarning\t%s\n", wn)
	}
	return tw.Flush()
}

// HoldSummary describes a process's holds in a few words, e.g.
// "cwd /mnt, fd 3 /mnt/f, 2 maps".
func HoldSummary(hs []Hold) string {
	var parts []string
	maps := 0
	for _, h := range hs {
		switch h.Kind {
		case HoldMap:
			maps++
		case HoldFD:
			parts = append(parts, fmt.Sprintf("fd %d %s", h.FD, h.Path))
		default:
			parts = append(parts, h.Kind+" "+h.Path)
		}
	}
	if maps <= 2 {
		for _, h := range hs {
			if h.Kind == HoldMap {
				parts = append(parts, "map "+h.Path)
			}
		}
	} else {
		parts = append(parts, fmt.Sprintf("%d maps", maps))
	}
	return shorten(strings.Join(parts, ", "), 60)
}

func pidList(pids []int, n int) string {
	if len(pids) == 0 {
		return "-"
	}
	var parts []string
	for i, p := range pids {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d", len(pids)-n))
			break
		}
		parts = append(parts, strconv.Itoa(p))
	}
	return strings.Join(parts, ",")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
