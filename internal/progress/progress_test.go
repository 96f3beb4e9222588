package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestPeople(t *testing.T) {
	for _, c := range []struct {
		name       string
		tty        bool
		wantStatus string
	}{
		{"plain", false, "step one\n10%\n100%\nstep two\n"},
		{"terminal", true, "step one\n\r[#.] 10%\r[#.] 20%\r[##] 100%\nstep two\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, status bytes.Buffer
			w := New(&out, &status, c.tty, false)
			w.Status("step %s", "one")
			w.Progress("[#.] 10%", "10%", false)
			w.Progress("[#.] 20%", "20%", false) // plain: within Every of the last line
			w.Progress("[##] 100%", "100%", true)
			w.Status("step two")
			if err := w.Result("done %d\n", 2); err != nil {
				t.Fatal(err)
			}
			if status.String() != c.wantStatus || out.String() != "done 2\n" || w.JSON() {
				t.Errorf("got status %q, out %q; want status %q, out \"done 2\\n\"", status.String(), out.String(), c.wantStatus)
			}
		})
	}
}

// TestResultEndsTheProgressLine: a result after a redrawn progress line
// starts the terminal on a fresh line.
func TestResultEndsTheProgressLine(t *testing.T) {
	var out, status bytes.Buffer
	w := New(&out, &status, true, false)
	w.Progress("50%", "50%", false)
	_ = w.Result("ok\n")
	if status.String() != "\r50%\n" {
		t.Errorf("got status %q, want the progress line ended", status.String())
	}
}

func TestJSON(t *testing.T) {
	var out, status bytes.Buffer
	w := New(&out, &status, true, true)
	if !w.JSON() {
		t.Fatal("JSON: got false")
	}
	if err := w.Encode(map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Encode(struct{ B bool }{true}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "{\"a\":1}\n{\"B\":true}\n" || status.Len() != 0 {
		t.Errorf("got out %q, status %q; want two JSON lines and nothing on status", got, status.String())
	}
	if strings.Contains(out.String(), "  ") {
		t.Error("got indented JSON, want one object a line")
	}
}

// TestEnd: End ends a redrawn line once; without one it prints nothing.
func TestEnd(t *testing.T) {
	var out, status bytes.Buffer
	w := New(&out, &status, true, false)
	w.End()
	w.Progress("50%", "50%", false)
	w.End()
	w.End()
	if got, want := status.String(), "\r50%\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
