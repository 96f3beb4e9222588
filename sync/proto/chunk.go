package proto

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

// Params are the size bounds of content-defined chunking: no chunk is
// shorter than Min (except a file's last) or longer than Max, and the sizes
// average about Avg, which must be a power of two.
type Params struct {
	Min, Avg, Max int
}

// DefaultParams are the chunk sizes of protocol version 1: 64 KiB, 256 KiB,
// 1 MiB. Small enough that an edit costs about one chunk, large enough that
// a 1 GiB file is about 4,000 chunks (a chunk list of ~150 KB, and as many
// objects in an S3 replica rather than 16,000 at 64 KiB).
var DefaultParams = Params{Min: 64 << 10, Avg: 256 << 10, Max: 1 << 20}

// DefaultSeed derives the gear table of plain folders. Encrypted folders
// derive theirs from the folder key instead (see PROTOCOL.md).
const DefaultSeed = "simplecloud-sync gear v1"

// normalization is FastCDC's level: the mask before Avg has 2 more bits
// than log2(Avg), the one after it 2 fewer.
const normalization = 2

// Chunker finds content-defined chunk boundaries with FastCDC (Xia et al.,
// USENIX ATC 2016): a gear rolling hash, cut-point skipping below Min and
// normalized chunking around Avg. Its gear table is derived from a seed, so
// a keyed seed hides where boundaries fall. A Chunker is immutable and safe
// for concurrent use.
type Chunker struct {
	p            Params
	table        [256]uint64
	maskS, maskL uint64
}

var (
	defaultOnce    sync.Once
	defaultChunker *Chunker
)

// DefaultChunker returns the chunker of plain folders: DefaultParams with
// the gear table of DefaultSeed.
func DefaultChunker() *Chunker {
	defaultOnce.Do(func() {
		c, err := NewChunker(DefaultParams, []byte(DefaultSeed))
		if err != nil {
			panic("proto: default chunk parameters: " + err.Error())
		}
		defaultChunker = c
	})
	return defaultChunker
}

// NewChunker returns a chunker with the bounds p and the gear table derived
// from seed: entry i is the first 8 bytes (big-endian) of
// SHA-256(seed || byte(i)).
func NewChunker(p Params, seed []byte) (*Chunker, error) {
	if p.Min < 64 || p.Min > p.Avg || p.Avg > p.Max || p.Max > MaxChunk ||
		bits.OnesCount(uint(p.Avg)) != 1 {
		return nil, fmt.Errorf("chunk parameters %d/%d/%d: want 64 <= min <= avg <= max <= %d, avg a power of two",
			p.Min, p.Avg, p.Max, MaxChunk)
	}
	c := &Chunker{p: p}
	buf := make([]byte, len(seed)+1)
	copy(buf, seed)
	for i := range c.table {
		buf[len(seed)] = byte(i)
		sum := sha256.Sum256(buf)
		c.table[i] = binary.BigEndian.Uint64(sum[:8])
	}
	// The masks test the top bits of the hash: the top bit depends on the
	// last 64 bytes, so the window is 64 bytes wide.
	b := bits.TrailingZeros(uint(p.Avg))
	c.maskS = ^uint64(0) << (64 - (b + normalization))
	c.maskL = ^uint64(0) << (64 - (b - normalization))
	return c, nil
}

// Params returns the chunker's size bounds.
func (c *Chunker) Params() Params { return c.p }

// Cut returns the length of the chunk that starts data. data must hold at
// least Max bytes or everything that is left of the stream; a chunk never
// extends past data.
func (c *Chunker) Cut(data []byte) int {
	n := len(data)
	if n <= c.p.Min {
		return n
	}
	n = min(n, c.p.Max)
	norm := min(n, c.p.Avg)
	var fp uint64
	i, ok := c.p.Min, false
	if fp, i, ok = c.gear(data[:norm], i, fp, c.maskS); ok {
		return i
	}
	if _, i, ok = c.gear(data[:n], i, fp, c.maskL); ok {
		return i
	}
	return n
}

// gear rolls the gear hash fp over data from i on, byte by byte
// (fp = fp<<1 + table[b]), and returns it with the end of the first byte
// after which fp&mask is 0 (ok), or len(data). Two bytes a step: the
// hash after both is fp<<2 + (table[b0]<<1 + table[b1]), which leaves one
// shift and one add a step on the chain of dependent operations instead of
// two of each (the hash after the first byte, checked too, is off it):
// the loop runs at the speed of that chain, about twice as fast.
func (c *Chunker) gear(data []byte, i int, fp, mask uint64) (uint64, int, bool) {
	t := &c.table
	for ; i+1 < len(data); i += 2 {
		g0, g1 := t[data[i]], t[data[i+1]]
		fp1 := fp<<1 + g0
		fp = fp<<2 + (g0<<1 + g1)
		if fp1&mask == 0 {
			return fp1, i + 1, true
		}
		if fp&mask == 0 {
			return fp, i + 2, true
		}
	}
	if i < len(data) {
		fp = fp<<1 + t[data[i]]
		if fp&mask == 0 {
			return fp, i + 1, true
		}
		i++
	}
	return fp, i, false
}

// splitBufs holds Split's read buffers.
var splitBufs sync.Pool

// Split reads r to its end and calls fn with each chunk in order. The slice
// passed to fn is valid only until fn returns. An error from fn stops the
// split and is returned as is.
func (c *Chunker) Split(r io.Reader, fn func(chunk []byte) error) error {
	// Buffers are pooled: a scan hashes many small files, and a fresh
	// 2*Max buffer for each (2 MiB by default) kept the garbage collector
	// busy and the heap large.
	bp, _ := splitBufs.Get().(*[]byte)
	if bp == nil || len(*bp) < 2*c.p.Max {
		b := make([]byte, 2*c.p.Max)
		bp = &b
	}
	defer splitBufs.Put(bp)
	buf := (*bp)[:2*c.p.Max]
	start, end := 0, 0
	eof := false
	for {
		if !eof && end-start < c.p.Max {
			copy(buf, buf[start:end])
			end -= start
			start = 0
			n, err := io.ReadFull(r, buf[end:])
			end += n
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				eof = true
			} else if err != nil {
				return fmt.Errorf("read for chunking: %w", err)
			}
		}
		if start == end {
			return nil
		}
		n := c.Cut(buf[start:end])
		if err := fn(buf[start : start+n]); err != nil {
			return err
		}
		start += n
	}
}
