package provision

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"simplecloud/disk/wipe"
)

// Printer shows an unattended install: JSON objects, one a line, on out
// with asJSON; else the steps on status, with a progress line that redraws
// itself on a terminal (or a plain one every wipe.PlainEvery), and the
// result on out. Event is safe for concurrent use.
type Printer struct {
	out, status io.Writer
	enc         *json.Encoder
	tty         bool
	mu          sync.Mutex
	last        time.Time
	bar         bool // a progress line is on screen and needs a newline
}

// NewPrinter returns a Printer; tty says whether status is a terminal.
func NewPrinter(out, status io.Writer, tty, asJSON bool) *Printer {
	p := &Printer{out: out, status: status, tty: tty}
	if asJSON {
		p.enc = json.NewEncoder(out)
	}
	return p
}

// Event shows one event of the install; it is a Sink.
func (p *Printer) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enc != nil {
		_ = p.enc.Encode(e)
		return
	}
	if e.Kind == EventProgress {
		switch {
		case p.tty:
			fmt.Fprintf(p.status, "\r%-70s", e.String())
			p.bar = true
		case time.Since(p.last) >= wipe.PlainEvery || e.Done == e.Total:
			fmt.Fprintln(p.status, e.String())
			p.last = time.Now()
		}
		return
	}
	if p.bar {
		fmt.Fprintln(p.status)
		p.bar = false
	}
	switch e.Kind {
	case EventStarted:
		fmt.Fprintf(p.status, "%-9s %s\n", e.Step, e.Message)
	case EventDone:
		fmt.Fprintf(p.status, "%-9s done: %s\n", "", e.Message)
	default:
		fmt.Fprintf(p.status, "%-9s %s\n", "", strings.TrimPrefix(e.String(), string(e.Step)+": "))
	}
}

// Plan prints a dry run's plan.
func (p *Printer) Plan(pl *Plan) error {
	if p.enc != nil {
		return p.enc.Encode(map[string]any{"plan": pl})
	}
	_, err := fmt.Fprintf(p.out, "%sNothing was written (--dry-run).\n", pl)
	return err
}

// Result prints what the install did and how to use it.
func (p *Printer) Result(r *Result) error {
	if p.enc != nil {
		return p.enc.Encode(map[string]any{"result": r})
	}
	_, err := fmt.Fprint(p.out, r.Summary())
	return err
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
