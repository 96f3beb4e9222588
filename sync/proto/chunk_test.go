package proto

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"testing/iotest"
)

// testStream returns n bytes of a stream anyone can reproduce: block i is
// SHA-256("simplecloud test" || u64be(i)). PROTOCOL.md's test vectors use it.
func testStream(n int) []byte {
	out := make([]byte, 0, n+32)
	for i := uint64(0); len(out) < n; i++ {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("simplecloud test"), i))
		out = append(out, sum[:]...)
	}
	return out[:n]
}

func split(t *testing.T, c *Chunker, data []byte) []ChunkRef {
	t.Helper()
	_, refs, err := HashReader(c, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func TestChunkerBounds(t *testing.T) {
	c := DefaultChunker()
	data := testStream(24 << 20)
	refs := split(t, c, data)
	total := 0
	for i, r := range refs {
		if (int(r.Size) < c.p.Min && i != len(refs)-1) || int(r.Size) > c.p.Max {
			t.Errorf("chunk %d: got %d bytes, want in [%d, %d]", i, r.Size, c.p.Min, c.p.Max)
		}
		total += int(r.Size)
	}
	if total != len(data) {
		t.Errorf("chunks add up to %d bytes, want %d", total, len(data))
	}
	avg := len(data) / len(refs)
	if avg < c.p.Avg/2 || avg > c.p.Avg*2 {
		t.Errorf("average chunk %d bytes over %d chunks, want near %d", avg, len(refs), c.p.Avg)
	}
	t.Logf("%d chunks, average %d bytes", len(refs), avg)
}

func TestChunkerDeterministic(t *testing.T) {
	data := testStream(6 << 20)
	want := split(t, DefaultChunker(), data)
	c2, err := NewChunker(DefaultParams, []byte(DefaultSeed))
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := HashReader(c2, iotest.HalfReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("a second chunker reading in small pieces cut differently:\ngot  %v\nwant %v", got, want)
	}
}

// TestChunkerShift checks that inserting bytes at the front changes only
// the first chunks: the rest are found again, by id.
func TestChunkerShift(t *testing.T) {
	data := testStream(16 << 20)
	old := split(t, DefaultChunker(), data)
	for _, n := range []int{1, 100, 70000} {
		shifted := append(testStream(n + 1)[1:], data...)
		got := split(t, DefaultChunker(), shifted)
		have := map[Hash]bool{}
		for _, r := range got {
			have[r.ID] = true
		}
		lost := 0
		for _, r := range old {
			if !have[r.ID] {
				lost++
			}
		}
		if lost > 2 {
			t.Errorf("insert %d bytes at the front: %d of %d old chunks gone, want at most 2", n, lost, len(old))
		}
	}
}

func TestChunkerKeyedSeed(t *testing.T) {
	data := testStream(8 << 20)
	keyed, err := NewChunker(DefaultParams, []byte("a folder key"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := split(t, DefaultChunker(), data), split(t, keyed, data)
	same := 0
	for i := range min(len(a), len(b)) {
		if a[i].Size == b[i].Size {
			same++
		}
	}
	if same > len(a)/4 {
		t.Errorf("another seed kept %d of %d chunk sizes, want boundaries that differ", same, len(a))
	}
}

func TestNewChunkerParams(t *testing.T) {
	for _, p := range []Params{
		{Min: 0, Avg: 1024, Max: 4096},
		{Min: 2048, Avg: 1024, Max: 4096},
		{Min: 512, Avg: 1000, Max: 4096},
		{Min: 512, Avg: 1024, Max: 512},
		{Min: 512, Avg: 1024, Max: MaxChunk + 1},
	} {
		if _, err := NewChunker(p, nil); err == nil {
			t.Errorf("NewChunker(%+v): got no error, want one", p)
		}
	}
}

// TestKnownAnswers pins the chunking and hashing of version 1: a change
// here breaks every peer and every stored hash. PROTOCOL.md lists these.
func TestKnownAnswers(t *testing.T) {
	c := DefaultChunker()
	if got, want := fmt.Sprintf("%016x %016x", c.table[0], c.table[255]), "63c670513aeeb2c0 9df889e47a95703b"; got != want {
		t.Errorf("gear table[0], [255]: got %s, want %s", got, want)
	}
	if got, want := FileHash(nil).String(), "b6196ac84a9e56b57f0dd14034961e55fbea57a648eb659139ee3571606b0923"; got != want {
		t.Errorf("hash of the empty file: got %s, want %s", got, want)
	}
	h, refs, err := HashReader(c, bytes.NewReader(testStream(4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []uint32
	for _, r := range refs {
		sizes = append(sizes, r.Size)
	}
	if got, want := fmt.Sprint(sizes), "[264265 450937 149368 269336 140391 207560 124693 280822 296784 355567 294741 281782 305773 379464 264736 128085]"; got != want {
		t.Errorf("chunk sizes of the 4 MiB test stream: got %s, want %s", got, want)
	}
	if got, want := h.String(), "984f532797dbfdf320b797e4777c96b8e5a904235794ddfc9365b92f6e067dd0"; got != want {
		t.Errorf("hash of the 4 MiB test stream: got %s, want %s", got, want)
	}
	if got, want := refs[0].ID, ChunkID(testStream(int(refs[0].Size))); got != want {
		t.Errorf("first chunk id: got %s, want %s", got, want)
	}
}

func TestFileHashOrder(t *testing.T) {
	a := ChunkRef{ID: ChunkID([]byte("a")), Size: 1}
	b := ChunkRef{ID: ChunkID([]byte("b")), Size: 1}
	if FileHash([]ChunkRef{a, b}) == FileHash([]ChunkRef{b, a}) {
		t.Error("swapping two chunks kept the file hash")
	}
	if FileHash([]ChunkRef{a}) == a.ID {
		t.Error("a one-chunk file's hash equals its chunk id")
	}
}

func TestPlainHasher(t *testing.T) {
	data := bytes.Repeat([]byte("plain hasher "), 200_000)
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	got, err := PlainHasher{}.Hash(f)
	if err != nil {
		t.Fatal(err)
	}
	want, refs, err := HashReader(DefaultChunker(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < 2 || Hash(got) != want {
		t.Errorf("got %x (%d chunks), want %x", got, len(refs), want)
	}
	if n := (PlainHasher{}).Name(); n != "scsync1-cdc-65536-262144-1048576" {
		t.Errorf("Name() = %q", n)
	}
}

// cutRef is Cut as FastCDC states it, one byte a step: what Cut, two
// bytes a step must match.
func cutRef(c *Chunker, data []byte) int {
	n := len(data)
	if n <= c.p.Min {
		return n
	}
	n = min(n, c.p.Max)
	var fp uint64
	for i := c.p.Min; i < n; i++ {
		fp = fp<<1 + c.table[data[i]]
		mask := c.maskL
		if i < min(n, c.p.Avg) {
			mask = c.maskS
		}
		if fp&mask == 0 {
			return i + 1
		}
	}
	return n
}

// TestCutMatchesReference: the boundaries of random streams, with small
// parameters (many cuts, odd and even offsets, short tails) and the
// default ones, are those of the byte-by-byte definition.
func TestCutMatchesReference(t *testing.T) {
	small, err := NewChunker(Params{Min: 64, Avg: 256, Max: 1024}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	data := testStream(8 << 20)
	for _, c := range []*Chunker{small, DefaultChunker()} {
		cuts := 0
		for off := 0; off < len(data); cuts++ {
			for _, end := range []int{len(data), off + c.p.Min + 1, off + c.p.Avg + 3} {
				d := data[off:min(len(data), off+c.p.Max, end)]
				if got, want := c.Cut(d), cutRef(c, d); got != want {
					t.Fatalf("%+v at %d of %d bytes: cut after %d, want %d", c.p, off, len(d), got, want)
				}
			}
			off += c.Cut(data[off:min(len(data), off+c.p.Max)])
		}
		if cuts < len(data)/c.p.Max {
			t.Errorf("%+v: %d chunks of %d bytes", c.p, cuts, len(data))
		}
	}
}
