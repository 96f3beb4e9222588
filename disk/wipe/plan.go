package wipe

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Plan says what a wipe of a target would do: which bytes, how, and about
// how long it would take. NewPlan makes it without writing; Run carries
// it out. A dry run prints it.
type Plan struct {
	Path   string `json:"path"`
	Block  bool   `json:"block_device"`
	Mode   Mode   `json:"mode"`
	Secure bool   `json:"secure,omitempty"`
	Verify bool   `json:"verify"`
	// Start and End are the byte range [Start, End) to wipe; Bytes is its
	// length.
	Start  int64 `json:"start"`
	End    int64 `json:"end"`
	Bytes  int64 `json:"bytes"`
	Direct bool  `json:"direct_io"`
	// Operation says in words what is done to the range.
	Operation string `json:"operation"`
	// EstimateSeconds is the expected duration of the write and verify
	// passes, from RateBytesPerSec; 0 when there is no estimate.
	EstimateSeconds float64 `json:"estimate_seconds"`
	RateBytesPerSec float64 `json:"estimate_rate_bytes_per_sec"`
	EstimateBasis   string  `json:"estimate_basis"`
}

// NewPlan checks o against t (as Options.Check) and returns the plan of
// the wipe, without an estimate of its duration (see Plan.Estimate).
func NewPlan(t *Target, o Options) (Plan, error) {
	if err := o.Check(t); err != nil {
		return Plan{}, err
	}
	p := Plan{Path: t.Path, Block: t.Block, Mode: o.Mode, Secure: o.Secure, Verify: o.Verify,
		Start: o.Offset, End: t.Size, Bytes: t.Size - o.Offset, Direct: t.Direct()}
	switch {
	case o.Mode == Zero:
		p.Operation = "write zeroes"
	case o.Mode == Random:
		p.Operation = "write an AES-128-CTR keystream from a fresh random key"
	case o.Mode == Discard && !t.Block:
		p.Operation = "punch a hole (fallocate PUNCH_HOLE)"
	case o.Mode == Discard && o.Secure:
		p.Operation = "secure-discard (BLKSECDISCARD)"
	case o.Mode == Discard:
		p.Operation = "discard (BLKDISCARD)"
	case o.Mode == ZeroOut && !t.Block:
		p.Operation = "zero the range (fallocate ZERO_RANGE)"
	case o.Mode == ZeroOut:
		p.Operation = "zero out (BLKZEROOUT)"
	}
	if o.Verify {
		p.Operation += ", then read everything back and compare"
	}
	return p, nil
}

// Estimate fills in the expected duration from a rate in bytes per second
// and a note on where the rate comes from. Writing passes run at rate;
// a verify pass reads everything back, at rate again.
func (p *Plan) Estimate(rate float64, basis string) {
	p.RateBytesPerSec, p.EstimateBasis = rate, basis
	if rate <= 0 {
		p.EstimateSeconds = 0
		return
	}
	passes := 1.0
	if p.Verify {
		passes = 2
	}
	p.EstimateSeconds = passes * float64(p.Bytes) / rate
}

// Sample bounds of SampleReadRate.
const (
	sampleBytes = 64 << 20
	sampleTime  = 500 * time.Millisecond
)

// SampleReadRate reads up to 64 MiB (or half a second's worth) of t from
// off and returns the rate in bytes per second. It only reads: a dry run
// uses it to estimate how long a wipe would take (writes are rarely
// faster than reads).
func (t *Target) SampleReadRate(off int64) (float64, error) {
	buf, err := alignedBuf(1 << 20)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(buf)
	var direct atomic.Bool
	direct.Store(t.direct != nil)
	start := time.Now()
	var n int64
	for n < sampleBytes && off+n < t.Size && time.Since(start) < sampleTime {
		b := buf[:min(int64(len(buf)), t.Size-off-n)]
		if err := t.readAt(b, off+n, &direct); err != nil {
			return 0, fmt.Errorf("sample the read rate of %s: %w", t.Path, err)
		}
		n += int64(len(b))
	}
	secs := time.Since(start).Seconds()
	if n == 0 || secs <= 0 {
		return 0, nil
	}
	return float64(n) / secs, nil
}

// EstimateOn fills in the expected duration of a wipe of t. Writing modes
// are estimated from the rate of a short read of t (a wipe writes no faster
// than the device reads); discards take what the device needs.
func (p *Plan) EstimateOn(t *Target) error {
	if p.Mode == Discard || (p.Mode == ZeroOut && !p.Block) {
		p.Estimate(0, "no estimate: the device or filesystem decides how long a discard or hole takes (often seconds)")
		return nil
	}
	rate, err := t.SampleReadRate(p.Start)
	if err != nil {
		return err
	}
	p.Estimate(rate, "from the read rate of the target measured just now; writes may be slower")
	return nil
}
