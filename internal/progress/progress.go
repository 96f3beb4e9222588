// Package progress writes a long command's output in the form its caller
// asked for: JSON objects, one a line, for scripts; or lines for people,
// where progress redraws itself in place on a terminal and comes as a plain
// line now and then otherwise. wipe and install print through it.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Every is how often a progress line is printed when the status stream is
// not a terminal.
const Every = 5 * time.Second

// Writer writes results on out and, for people, steps and progress on
// status. Its methods are safe for concurrent use.
type Writer struct {
	out, status io.Writer
	enc         *json.Encoder // JSON lines on out; nil for people
	tty         bool          // status is a terminal
	mu          sync.Mutex
	last        time.Time // of the last plain progress line
	redrawn     bool      // a progress line is on the terminal, unterminated
}

// New returns a Writer of JSON lines on out with asJSON, else of lines for
// people; tty says whether status is a terminal.
func New(out, status io.Writer, tty, asJSON bool) *Writer {
	w := &Writer{out: out, status: status, tty: tty}
	if asJSON {
		w.enc = json.NewEncoder(out)
	}
	return w
}

// JSON reports whether the writer writes JSON lines.
func (w *Writer) JSON() bool { return w.enc != nil }

// Encode writes v as one JSON line on out.
func (w *Writer) Encode(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// Progress shows how far something got: on a terminal, line replaces the
// previous progress line; otherwise plain is printed on a line of its own
// when Every has passed since the last one, or when final is set.
func (w *Writer) Progress(line, plain string, final bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.tty:
		fmt.Fprint(w.status, "\r"+line)
		w.redrawn = true
	case final || time.Since(w.last) >= Every:
		fmt.Fprintln(w.status, plain)
		w.last = time.Now()
	}
}

// Status prints a line on status, below a progress line.
func (w *Writer) Status(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLine()
	fmt.Fprintf(w.status, format+"\n", args...)
}

// Result prints on out, after ending a progress line on status.
func (w *Writer) Result(format string, args ...any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLine()
	_, err := fmt.Fprintf(w.out, format, args...)
	return err
}

// End ends a progress line drawn on a terminal, so that what follows
// starts on a line of its own.
func (w *Writer) End() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLine()
}

func (w *Writer) endLine() {
	if w.redrawn {
		fmt.Fprintln(w.status)
		w.redrawn = false
	}
}
