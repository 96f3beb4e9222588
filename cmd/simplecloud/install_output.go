package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"simplecloud/internal/prompt"
	"simplecloud/provision"
)

// installPrinter shows install events: JSON lines on stdout with --json, a
// progress line that rewrites itself on a terminal, plain lines otherwise.
type installPrinter struct {
	a    *app
	enc  *json.Encoder
	tty  bool
	mu   sync.Mutex
	last time.Time
	bar  bool
}

func newInstallPrinter(a *app, asJSON bool) *installPrinter {
	p := &installPrinter{a: a, tty: prompt.IsTerminal(a.stderr)}
	if asJSON {
		p.enc = json.NewEncoder(a.stdout)
	}
	return p
}

func (p *installPrinter) event(e provision.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enc != nil {
		_ = p.enc.Encode(e)
		return
	}
	if e.Kind == provision.EventProgress {
		switch {
		case p.tty:
			fmt.Fprintf(p.a.stderr, "\r%-70s", e.String())
			p.bar = true
		case time.Since(p.last) >= plainEvery || e.Done == e.Total:
			fmt.Fprintln(p.a.stderr, e.String())
			p.last = time.Now()
		}
		return
	}
	if p.bar {
		fmt.Fprintln(p.a.stderr)
		p.bar = false
	}
	switch e.Kind {
	case provision.EventStarted:
		fmt.Fprintf(p.a.stderr, "%-9s %s\n", e.Step, e.Message)
	case provision.EventDone:
		fmt.Fprintf(p.a.stderr, "%-9s done: %s\n", "", e.Message)
	default:
		fmt.Fprintf(p.a.stderr, "%-9s %s\n", "", strings.TrimPrefix(e.String(), string(e.Step)+": "))
	}
}

// plan prints a dry run's plan.
func (p *installPrinter) plan(pl *provision.Plan) error {
	if p.enc != nil {
		return p.enc.Encode(map[string]any{"plan": pl})
	}
	_, err := fmt.Fprintf(p.a.stdout, "%sNothing was written (--dry-run).\n", pl)
	return err
}

// result prints what the install did and how to use it.
func (p *installPrinter) result(r *provision.Result) error {
	if p.enc != nil {
		return p.enc.Encode(map[string]any{"result": r})
	}
	_, err := fmt.Fprint(p.a.stdout, installSummary(r))
	return err
}

// installSummary is the closing text for people, also shown by the TUI.
func installSummary(r *provision.Result) string {
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
