package wipe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"simplecloud/disk"
	"simplecloud/internal/progress"
)

// DryRun is the JSON form of a dry run: the target as the user confirms it
// and the plan.
type DryRun struct {
	DryRun bool   `json:"dry_run"`
	Name   string `json:"name"`
	Target string `json:"target"`
	Plan
}

// WritePlan prints what a wipe would do, as one JSON object (DryRun) or in
// words. name is what the user would type to confirm (the plan's path when
// empty), summary a line describing the target (name when empty).
func WritePlan(w io.Writer, name, summary string, p Plan, asJSON bool) error {
	if name == "" {
		name = p.Path
	}
	if asJSON {
		if err := json.NewEncoder(w).Encode(DryRun{DryRun: true, Name: name, Target: summary, Plan: p}); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		return nil
	}
	if summary == "" {
		summary = name
	}
	fmt.Fprintf(w, "dry run: would wipe %s\n", summary)
	fmt.Fprintf(w, "  mode:     %s: %s\n", p.Mode, p.Operation)
	fmt.Fprintf(w, "  range:    bytes %d to %d (%s", p.Start, p.End-1, disk.Size(uint64(p.Bytes)))
	if p.Start > 0 {
		fmt.Fprintf(w, ", resuming at offset %d", p.Start)
	}
	fmt.Fprintln(w, ")")
	if p.EstimateSeconds > 0 {
		d := "under a second"
		if p.EstimateSeconds >= 1 {
			d = "about " + time.Duration(p.EstimateSeconds*float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(w, "  estimate: %s at %s/s (%s)\n", d, disk.Size(uint64(p.RateBytesPerSec)), p.EstimateBasis)
	} else {
		fmt.Fprintf(w, "  estimate: %s\n", p.EstimateBasis)
	}
	_, err := fmt.Fprintf(w, "Nothing was written; without --dry-run wipe asks you to type %s (or takes --yes).\n", name)
	return err
}

// Printer shows a wipe's progress and summary: JSON objects, one a line,
// on out with asJSON; else a bar that redraws itself on a terminal, or a
// plain line every progress.Every, on status, and the summary line on out.
// Its methods are safe for concurrent use.
type Printer struct {
	w *progress.Writer
}

// NewPrinter returns a Printer; tty says whether status is a terminal.
func NewPrinter(out, status io.Writer, tty, asJSON bool) *Printer {
	return &Printer{progress.New(out, status, tty, asJSON)}
}

// Event shows one progress event; it fits Options.Progress.
func (p *Printer) Event(e Event) {
	if p.w.JSON() {
		_ = p.w.Encode(e)
		return
	}
	text := progressText(e)
	p.w.Progress(fmt.Sprintf("%-6s %s %s", e.Phase, bar(e, 30), text), e.Phase+": "+text, e.BytesDone == e.BytesTotal)
}

func bar(e Event, width int) string {
	n := 0
	if e.BytesTotal > 0 {
		n = int(int64(width) * e.BytesDone / e.BytesTotal)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func progressText(e Event) string {
	pct := 100.0
	if e.BytesTotal > 0 {
		pct = 100 * float64(e.BytesDone) / float64(e.BytesTotal)
	}
	eta := time.Duration(e.ETASeconds * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%5.1f%% %s of %s, %s/s, ETA %s ", pct, disk.Size(uint64(e.BytesDone)),
		disk.Size(uint64(e.BytesTotal)), disk.Size(uint64(e.RateBytesPerSec)), eta)
}

// Summary prints the outcome of the wipe of name: the fixed JSON object with
// asJSON, a line for people otherwise.
func (p *Printer) Summary(name string, s Summary) error {
	if p.w.JSON() {
		return p.w.Encode(s)
	}
	verified := "not verified"
	if s.Verified {
		verified = "verified"
	}
	return p.w.Result("wiped %s of %s (%s) in %.1f s, %s/s, %s\n", disk.Size(uint64(s.Bytes)),
		name, s.Mode, s.Seconds, disk.Size(uint64(s.RateBytesPerSec)), verified)
}
