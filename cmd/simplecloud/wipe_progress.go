package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
	"simplecloud/internal/prompt"
)

// plainEvery is how often progress lines are printed when stderr is not a
// terminal.
const plainEvery = 5 * time.Second

// progressWriter shows wipe progress: JSON lines on stdout with --json, a
// bar on a terminal, plain lines otherwise.
type progressWriter struct {
	a    *app
	enc  *json.Encoder // --json
	tty  bool
	mu   sync.Mutex
	last time.Time
	bar  bool // a bar is on screen and needs a newline
}

func newProgressWriter(a *app, asJSON bool) *progressWriter {
	p := &progressWriter{a: a, tty: prompt.IsTerminal(a.stderr)}
	if asJSON {
		p.enc = json.NewEncoder(a.stdout)
	}
	return p
}

func (p *progressWriter) event(e wipe.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.enc != nil:
		_ = p.enc.Encode(e)
	case p.tty:
		fmt.Fprintf(p.a.stderr, "\r%-6s %s %s", e.Phase, bar(e, 30), progressText(e))
		p.bar = true
	default:
		if time.Since(p.last) >= plainEvery || e.BytesDone == e.BytesTotal {
			fmt.Fprintf(p.a.stderr, "%s: %s\n", e.Phase, progressText(e))
			p.last = time.Now()
		}
	}
}

func bar(e wipe.Event, width int) string {
	n := 0
	if e.BytesTotal > 0 {
		n = int(int64(width) * e.BytesDone / e.BytesTotal)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func progressText(e wipe.Event) string {
	pct := 100.0
	if e.BytesTotal > 0 {
		pct = 100 * float64(e.BytesDone) / float64(e.BytesTotal)
	}
	eta := time.Duration(e.ETASeconds * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%5.1f%% %s of %s, %s/s, ETA %s ", pct, disk.Size(uint64(e.BytesDone)),
		disk.Size(uint64(e.BytesTotal)), disk.Size(uint64(e.RateBytesPerSec)), eta)
}

// summary prints the final summary: the fixed JSON object with --json, a
// line for people otherwise.
func (p *progressWriter) summary(tgt disk.Target, s wipe.Summary) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar {
		fmt.Fprintln(p.a.stderr)
	}
	if p.enc != nil {
		if err := p.enc.Encode(s); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
		return nil
	}
	verified := "not verified"
	if s.Verified {
		verified = "verified"
	}
	_, err := fmt.Fprintf(p.a.stdout, "wiped %s of %s (%s) in %.1f s, %s/s, %s\n", disk.Size(uint64(s.Bytes)),
		tgt.Name, s.Mode, s.Seconds, disk.Size(uint64(s.RateBytesPerSec)), verified)
	return err
}
