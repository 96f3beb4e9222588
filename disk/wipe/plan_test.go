package wipe

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestNewPlan(t *testing.T) {
	img := filepath.Join(t.TempDir(), "p.img")
	data := bytes.Repeat([]byte{0x42}, 1<<20)
	os.WriteFile(img, data, 0o644)
	tg, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	for _, c := range []struct {
		o       Options
		op      string
		start   int64
		seconds float64
	}{
		{Options{Mode: Zero}, "write zeroes", 0, 1},
		{Options{Mode: Random, Verify: true, Offset: 512 << 10}, "write an AES-128-CTR keystream from a fresh random key, then read everything back and compare", 512 << 10, 1},
		{Options{Mode: Discard}, "punch a hole (fallocate PUNCH_HOLE)", 0, 1},
		{Options{Mode: ZeroOut}, "zero the range (fallocate ZERO_RANGE)", 0, 1},
	} {
		p, err := NewPlan(tg, c.o)
		if err != nil {
			t.Fatalf("%+v: %v", c.o, err)
		}
		p.Estimate(float64(p.Bytes), "test")
		if p.Operation != c.op || p.Start != c.start || p.End != 1<<20 || p.Bytes != 1<<20-c.start {
			t.Errorf("%+v: got %q [%d, %d) %d bytes, want %q from %d", c.o, p.Operation, p.Start, p.End, p.Bytes, c.op, c.start)
		}
		if want := c.seconds * map[bool]float64{false: 1, true: 2}[c.o.Verify]; p.EstimateSeconds != want {
			t.Errorf("%+v: got estimate %v s, want %v", c.o, p.EstimateSeconds, want)
		}
	}
	if _, err := NewPlan(tg, Options{Mode: Zero, Offset: 1 << 20}); err == nil {
		t.Error("an offset at the end: got a plan, want the Check error")
	}
	if r, err := tg.SampleReadRate(0); err != nil || r <= 0 {
		t.Errorf("SampleReadRate: got %v, %v; want a positive rate", r, err)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, data) {
		t.Error("planning changed the file")
	}
}
