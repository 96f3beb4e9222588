package disk

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Listing is the JSON document `simplecloud disks --json` prints.
type Listing struct {
	Disks []Disk `json:"disks"`
}

// WriteJSON writes disks as an indented JSON Listing.
func WriteJSON(w io.Writer, disks []Disk) error {
	if disks == nil {
		disks = []Disk{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Listing{Disks: disks}); err != nil {
		return fmt.Errorf("write disk list: %w", err)
	}
	return nil
}

// WriteTable writes disks as a table for people, one row per disk and one
// indented line per reason under a disk that is not eligible.
func WriteTable(w io.Writer, disks []Disk) error {
	rows := [][]string{{"ELIGIBLE", "NAME", "DEVICE", "SIZE", "KIND", "BUS", "MODEL"}}
	for _, d := range disks {
		verdict := "no"
		if d.Eligible {
			verdict = "yes"
		}
		rows = append(rows, []string{verdict, dash(d.ID), d.Path, Size(d.SizeBytes), string(d.Kind), d.Bus, dash(d.Model)})
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i, c := range r[:len(r)-1] {
			fmt.Fprintf(&b, "%-*s  ", width[i], c)
		}
		b.WriteString(r[len(r)-1] + "\n")
	}
	line(rows[0])
	for i, d := range disks {
		line(rows[i+1])
		for _, r := range d.Reasons {
			note := ""
			switch {
			case r.Allowed:
				note = " (allowed by " + r.Override + ")"
			case r.Override != "":
				note = " (" + r.Override + " allows it)"
			}
			fmt.Fprintf(&b, "%*s  %s: %s%s\n", width[0], "", r.Code, r.Detail, note)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write disk table: %w", err)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Size formats a byte count for people in binary units: "931.5 GiB".
func Size(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	s := fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
	return strings.Replace(s, ".0 ", " ", 1)
}
