package cmdrun

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestOutput(t *testing.T) {
	out, err := Run(context.Background(), "sh", "-c", "echo hello")
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("got %q, %v; want %q, nil", out, err, "hello\n")
	}
}

func TestErrorCarriesExitAndStderr(t *testing.T) {
	_, err := Run(context.Background(), "sh", "-c", "echo oops >&2; exit 3")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *Error", err)
	}
	if e.Exit != 3 || e.Stderr != "oops" {
		t.Errorf("got exit %d stderr %q, want 3 %q", e.Exit, e.Stderr, "oops")
	}
	if want := "run sh -c 'echo oops >&2; exit 3': exit status 3: oops"; err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
}

func TestMissingProgram(t *testing.T) {
	_, err := Run(context.Background(), "/nonexistent/program")
	var e *Error
	if !errors.As(err, &e) || e.Exit != -1 || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("got %v, want a start failure naming the missing file", err)
	}
}

func TestStderrTrimmed(t *testing.T) {
	_, err := Run(context.Background(), "sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x >&2; exit 1")
	var e *Error
	if !errors.As(err, &e) || len(e.Stderr) != maxStderr+3 {
		t.Fatalf("got stderr of %d bytes, want %d", len(e.Stderr), maxStderr+3)
	}
}
