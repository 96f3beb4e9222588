package wipe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Mode is how a wipe overwrites the target.
type Mode string

// Modes of wiping.
const (
	Zero    Mode = "zero"    // write zeroes
	Random  Mode = "random"  // write an AES-128-CTR keystream from a fresh random key
	Discard Mode = "discard" // BLKDISCARD (BLKSECDISCARD with Secure); a punched hole in a file
	ZeroOut Mode = "zeroout" // BLKZEROOUT; a zeroed range in a file
)

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Zero, Random, Discard, ZeroOut:
		return m, nil
	}
	return "", fmt.Errorf("unknown wipe mode %q: want zero, random, discard or zeroout", s)
}

// Options says how to wipe.
type Options struct {
	Mode   Mode
	Secure bool  // with Discard on a block device: BLKSECDISCARD
	Verify bool  // read everything back and compare (zeroes, or the regenerated keystream)
	Offset int64 // start here: resume a stopped wipe

	// Progress, when set, receives events at least once per Interval
	// (default one second) and once at the end of each phase. It is called
	// from one goroutine at a time.
	Progress func(Event)
	Interval time.Duration

	Workers   int // parallel writers and generators; default 4
	ChunkSize int // bytes per write; default 8 MiB
	Log       *slog.Logger
}

// Event reports progress through a phase ("write" or "verify").
type Event struct {
	Phase           string  `json:"phase"`
	BytesDone       int64   `json:"bytes_done"`
	BytesTotal      int64   `json:"bytes_total"`
	Offset          int64   `json:"offset"` // everything below it is done: the resume point
	RateBytesPerSec float64 `json:"rate_bytes_per_sec"`
	ETASeconds      float64 `json:"eta_seconds"`
}

// Summary is the outcome of a wipe. Seconds covers the whole run (write and
// verify); Bytes are the bytes wiped in this run, from Offset to the end.
type Summary struct {
	Mode            Mode    `json:"mode"`
	Bytes           int64   `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	RateBytesPerSec float64 `json:"rate_bytes_per_sec"`
	Verified        bool    `json:"verified"`
}

// ErrMismatch is the cause of a StopError from a verify pass that read back
// something other than what was written.
var ErrMismatch = errors.New("the data read back differs from what was written")

// StopError reports a wipe that stopped before the end: cancelled, an I/O
// error, or a verify mismatch.
type StopError struct {
	Phase  string // write or verify
	At     int64  // offset of the failing operation (or of the first differing byte)
	Resume int64  // everything from the start offset up to Resume is wiped
	Err    error
}

func (e *StopError) Error() string {
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return fmt.Sprintf("%s stopped: %v; everything before offset %d is wiped (resume with --offset %d)",
			e.Phase, e.Err, e.Resume, e.Resume)
	}
	return fmt.Sprintf("%s at offset %d: %v; everything before offset %d is wiped (resume with --offset %d)",
		e.Phase, e.At, e.Err, e.Resume, e.Resume)
}

func (e *StopError) Unwrap() error { return e.Err }

// Check validates options against a target without touching it.
func (o Options) Check(t *Target) error {
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return err
	}
	if o.Secure && (o.Mode != Discard || !t.Block) {
		return fmt.Errorf("secure discard needs --mode discard on a block device")
	}
	if o.Offset < 0 || o.Offset >= t.Size {
		return fmt.Errorf("offset %d is outside %s (size %d)", o.Offset, t.Path, t.Size)
	}
	unit := int64(512) // an image file's pieces off the direct I/O grid go buffered
	if t.Block {
		unit = t.Align // a block device takes nothing smaller than its logical block
	}
	if o.Offset%unit != 0 {
		return fmt.Errorf("offset %d is not a multiple of the block size (%d)", o.Offset, unit)
	}
	return nil
}

// Run wipes t from o.Offset to the end, then verifies it if asked. When it
// stops early it returns a *StopError that says how far it got.
func Run(ctx context.Context, t *Target, o Options) (Summary, error) {
	if err := o.Check(t); err != nil {
		return Summary{}, err
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 8 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	log := o.Log.With("component", "wipe", "target", t.Path, "mode", o.Mode)
	start := time.Now()
	sum := Summary{Mode: o.Mode}
	finish := func(end int64, err error) (Summary, error) {
		sum.Bytes = end - o.Offset
		sum.Seconds = time.Since(start).Seconds()
		if sum.Seconds > 0 {
			sum.RateBytesPerSec = float64(sum.Bytes) / sum.Seconds
		}
		return sum, err
	}
	var ks *keystream
	if o.Mode == Random {
		var err error
		if ks, err = newKeystream(); err != nil {
			return sum, err
		}
	}
	log.Debug("wipe", "size", t.Size, "offset", o.Offset, "direct", t.Direct(), "verify", o.Verify)
	var err error
	if o.Mode == Discard || o.Mode == ZeroOut {
		err = runDiscard(ctx, t, o)
	} else {
		err = runPieces(ctx, t, o, "write", ks, log)
	}
	if err == nil {
		err = t.sync()
	}
	if err != nil {
		var se *StopError
		if errors.As(err, &se) {
			return finish(se.Resume, err)
		}
		return finish(o.Offset, err)
	}
	if o.Verify {
		t.dropCache(o.Offset)
		if err := runPieces(ctx, t, o, "verify", ks, log); err != nil {
			return finish(t.Size, err)
		}
		sum.Verified = true
	}
	return finish(t.Size, nil)
}
