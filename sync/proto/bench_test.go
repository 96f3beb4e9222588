package proto

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// snapshotEntries returns n entries shaped like a photo tree, in the
// depth-first order of a List.
func snapshotEntries(n int) Entries {
	es := make(Entries, n)
	for i := range es {
		p := fmt.Sprintf("photos/%04d/%02d/IMG_%05d.jpg", 2000+i/200, (i/20)%12, i)
		es[i] = Entry{Path: p, Kind: KindFile, Size: uint64(100000 + i*37), Mtime: 1764888000123456789 + int64(i),
			Mode: 0o644, Hash: ChunkID([]byte(p))}
	}
	return es
}

// BenchmarkSnapshotEntry encodes and decodes List answers of 1024 entries
// (one frame each) and reports per entry: wire bytes (framing included),
// time and allocations.
func BenchmarkSnapshotEntry(b *testing.B) {
	const n = 1024
	for _, hashes := range []bool{true, false} {
		es := snapshotEntries(n)
		if !hashes {
			for i := range es {
				es[i].Hash = Hash{}
			}
		}
		name := map[bool]string{true: "hashes", false: "nohashes"}[hashes]
		var buf bytes.Buffer
		c := newConn(struct {
			io.Reader
			io.Writer
		}{strings.NewReader(""), &buf})
		b.Run("encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				buf.Reset()
				if err := c.Send(1, false, &EntryBatch{Entries: es}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/n, "wireB/entry")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
		})
		frame := bytes.Clone(buf.Bytes())
		b.Run("decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			var r bytes.Reader
			c := newConn(struct {
				io.Reader
				io.Writer
			}{&r, io.Discard})
			for range b.N {
				r.Reset(frame)
				c.r.Reset(&r)
				f, err := c.Recv()
				if err != nil || len(f.Msg.(*EntryBatch).Entries) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
		})
	}
}

// BenchmarkChunker measures chunking alone and chunking with hashing.
func BenchmarkChunker(b *testing.B) {
	data := testStream(32 << 20)
	c := DefaultChunker()
	b.Run("cut", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			for off := 0; off < len(data); {
				off += c.Cut(data[off:min(len(data), off+c.p.Max)])
			}
		}
	})
	b.Run("hash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			if _, _, err := HashReader(c, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
