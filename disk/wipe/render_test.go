package wipe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestPrinterPlainAndBar(t *testing.T) {
	var out, status bytes.Buffer
	p := NewPrinter(&out, &status, false, false)
	half := Event{Phase: "write", BytesDone: 1 << 30, BytesTotal: 2 << 30, RateBytesPerSec: 512 << 20, ETASeconds: 2}
	p.Event(half)
	p.Event(half) // within PlainEvery of the first: no second line
	p.Event(Event{Phase: "write", BytesDone: 2 << 30, BytesTotal: 2 << 30})
	want := "write:  50.0% 1 GiB of 2 GiB, 512 MiB/s, ETA 2s \nwrite: 100.0% 2 GiB of 2 GiB, 0 B/s, ETA 0s \n"
	if status.String() != want {
		t.Errorf("got plain progress %q, want %q", status.String(), want)
	}
	if got := bar(half, 10); got != "[#####.....]" {
		t.Errorf("got bar %q, want [#####.....]", got)
	}
	p.Summary("virtio-X", Summary{Mode: Random, Bytes: 2 << 30, Seconds: 4, RateBytesPerSec: 512 << 20, Verified: true})
	if want := "wiped 2 GiB of virtio-X (random) in 4.0 s, 512 MiB/s, verified\n"; out.String() != want {
		t.Errorf("got summary %q, want %q", out.String(), want)
	}

	// On a terminal the bar redraws itself and the summary starts a new line.
	out.Reset()
	status.Reset()
	p = NewPrinter(&out, &status, true, false)
	p.Event(half)
	p.Event(half)
	p.Summary("virtio-X", Summary{Mode: Zero})
	if got := status.String(); strings.Count(got, "\r") != 2 || !strings.HasSuffix(got, "\n") || !strings.Contains(got, "[###############...............]") {
		t.Errorf("got terminal progress %q, want two redrawn bars and a newline", got)
	}
}

func TestPrinterJSON(t *testing.T) {
	var out, status bytes.Buffer
	p := NewPrinter(&out, &status, true, true)
	p.Event(Event{Phase: "write", BytesDone: 1, BytesTotal: 2})
	p.Summary("x", Summary{Mode: Zero, Bytes: 2})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var e Event
	var s Summary
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &e) != nil || json.Unmarshal([]byte(lines[1]), &s) != nil ||
		e.BytesDone != 1 || s.Bytes != 2 || status.Len() != 0 {
		t.Errorf("got stdout %q, stderr %q; want an event and a summary object, nothing on stderr", out.String(), status.String())
	}
}

func TestWritePlan(t *testing.T) {
	p := Plan{Path: "/tmp/a.img", Mode: Zero, Start: 4096, End: 1 << 20, Bytes: 1<<20 - 4096, Operation: "write zeroes"}
	p.Estimate(512<<20, "measured")
	var b bytes.Buffer
	if err := WritePlan(&b, "", "", p, false); err != nil {
		t.Fatal(err)
	}
	want := "dry run: would wipe /tmp/a.img\n" +
		"  mode:     zero: write zeroes\n" +
		"  range:    bytes 4096 to 1048575 (1020 KiB, resuming at offset 4096)\n" +
		"  estimate: under a second at 512 MiB/s (measured)\n" +
		"Nothing was written; without --dry-run wipe asks you to type /tmp/a.img (or takes --yes).\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WritePlan(&b, "virtio-X", "virtio-X (/dev/vdb, 1 GiB)", p, true); err != nil {
		t.Fatal(err)
	}
	var d DryRun
	if err := json.Unmarshal(b.Bytes(), &d); err != nil || !d.DryRun || d.Name != "virtio-X" || d.Target != "virtio-X (/dev/vdb, 1 GiB)" || d.Start != 4096 {
		t.Errorf("got %s (%v), want the dry run of virtio-X from 4096", b.String(), err)
	}
}
