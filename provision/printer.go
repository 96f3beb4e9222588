package provision

import (
	"fmt"
	"io"
	"strings"

	"simplecloud/internal/progress"
)

// Printer shows an unattended install: JSON objects, one a line, on out
// with asJSON; else the steps on status, with a progress line that redraws
// itself on a terminal (or a plain one every progress.Every), and the result
// on out. Event is safe for concurrent use.
type Printer struct {
	w *progress.Writer
}

// NewPrinter returns a Printer; tty says whether status is a terminal.
func NewPrinter(out, status io.Writer, tty, asJSON bool) *Printer {
	return &Printer{progress.New(out, status, tty, asJSON)}
}

// Event shows one event of the install; it is a Sink.
func (p *Printer) Event(e Event) {
	switch {
	case p.w.JSON():
		_ = p.w.Encode(e)
	case e.Kind == EventProgress:
		p.w.Progress(fmt.Sprintf("%-70s", e.String()), e.String(), e.Done == e.Total)
	case e.Kind == EventStarted:
		p.w.Status("%-9s %s", e.Step, e.Message)
	case e.Kind == EventDone:
		p.w.Status("%-9s done: %s", "", e.Message)
	default:
		p.w.Status("%-9s %s", "", strings.TrimPrefix(e.String(), string(e.Step)+": "))
	}
}

// Plan prints a dry run's plan.
func (p *Printer) Plan(pl *Plan) error {
	if p.w.JSON() {
		return p.w.Encode(map[string]any{"plan": pl})
	}
	return p.w.Result("%sNothing was written (--dry-run).\n", pl)
}

// Result prints what the install did and how to use it.
func (p *Printer) Result(r *Result) error {
	if p.w.JSON() {
		return p.w.Encode(map[string]any{"result": r})
	}
	return p.w.Result("%s", r.Summary())
}

// Summary is the closing text of an install for people.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Installed: %s is the SimpleCloud data disk.\n", r.Disk)
	fmt.Fprintf(&b, "  volume      LUKS2 on %s, UUID %s, %d keyslot(s)\n", r.Target, r.UUID, r.Keyslots)
	fmt.Fprintf(&b, "  filesystem  ext4 on %s, label %s, %d reserved blocks\n", r.Mapper, r.Ext4.Label, r.Ext4.ReservedBlocks)
	fmt.Fprintf(&b, "  mounted at  %s\n", r.Mount)
	fmt.Fprintf(&b, "  config      %s\n", r.Config)
	fmt.Fprintf(&b, "  server      %s\n", r.Handoff)
	b.WriteString("At every boot: simplecloud unlock (simplecloud-unlock.service asks on the console).\n")
	return b.String()
}
