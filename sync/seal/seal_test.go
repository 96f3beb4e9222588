package seal_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"simplecloud/sync/proto"
	"simplecloud/sync/seal"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, 1)
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 5000, 100000} {
		data := stream("round trip", n)
		sealed, recs := sealBytes(t, k, smallChunker(t, k), data)
		var out bytes.Buffer
		got, err := k.Open(&out, bytes.NewReader(sealed))
		if err != nil {
			t.Fatalf("%d bytes: open: %v", n, err)
		}
		if got != int64(n) || !bytes.Equal(out.Bytes(), data) {
			t.Errorf("%d bytes: got %d bytes back (n=%d), want the input", n, out.Len(), got)
		}
		if err := k.CheckList(recs); err != nil {
			t.Errorf("%d bytes: check list: %v", n, err)
		}
		if n == 0 && len(recs) != 1 {
			t.Errorf("empty file: got %d records, want only the end record", len(recs))
		}
	}
}

func TestSealDefaultChunker(t *testing.T) {
	k := testKey(t, 1)
	c, err := proto.NewChunker(proto.DefaultParams, k.GearSeed())
	if err != nil {
		t.Fatal(err)
	}
	data := stream("default", 3<<20)
	sealed, recs := sealBytes(t, k, c, data)
	var out bytes.Buffer
	if _, err := k.Open(&out, bytes.NewReader(sealed)); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("open: %v (equal %v)", err, bytes.Equal(out.Bytes(), data))
	}
	if len(recs) < 4 {
		t.Errorf("3 MiB: got %d records, want several chunks", len(recs))
	}
}

// TestProtoCompatible checks that the server, which has no key, reads a
// sealed file's records with proto.SealedRecords as the sealer listed them.
func TestProtoCompatible(t *testing.T) {
	k := testKey(t, 2)
	sealed, recs := sealBytes(t, k, smallChunker(t, k), stream("compat", 20000))
	if seal.Magic != proto.SealedMagic {
		t.Fatalf("got magic %q, want proto's %q", seal.Magic, proto.SealedMagic)
	}
	var refs []proto.ChunkRef
	err := proto.SealedRecords(bytes.NewReader(sealed), func(ref proto.ChunkRef, _ int64) error {
		refs = append(refs, ref)
		return nil
	})
	if err != nil {
		t.Fatalf("proto.SealedRecords: %v", err)
	}
	if len(refs) != len(recs) {
		t.Fatalf("got %d records from proto, want %d", len(refs), len(recs))
	}
	for i := range refs {
		if refs[i].ID != proto.Hash(recs[i].ID) || refs[i].Size != recs[i].Size {
			t.Errorf("record %d: got %x/%d, want %x/%d", i, refs[i].ID, refs[i].Size, recs[i].ID, recs[i].Size)
		}
	}
}

func TestSealDeterministic(t *testing.T) {
	k := testKey(t, 3)
	data := stream("det", 50000)
	a, ra := sealBytes(t, k, smallChunker(t, k), data)
	b, _ := sealBytes(t, k, smallChunker(t, k), data)
	if !bytes.Equal(a, b) {
		t.Fatal("sealing the same data twice gave different bytes")
	}
	other := testKey(t, 4)
	c, _ := sealBytes(t, other, smallChunker(t, k), data)
	if bytes.Contains(c, a[len(seal.Magic):len(seal.Magic)+64]) {
		t.Error("another key gave the same first record")
	}
	// An insertion near the front changes only the first chunks: the
	// records after it are the same bytes (delta transfer and dedup work
	// on ciphertext).
	edited := append(append(append([]byte(nil), data[:100]...), "inserted"...), data[100:]...)
	_, re := sealBytes(t, k, smallChunker(t, k), edited)
	have := map[[32]byte]bool{}
	for _, r := range ra {
		have[r.ID] = true
	}
	same := 0
	for _, r := range re {
		if have[r.ID] {
			same++
		}
	}
	if same < len(ra)-4 {
		t.Errorf("after an insertion %d of %d records are unchanged, want all but a few", same, len(ra))
	}
}

// openOut opens sealed with k and returns the error and what was written.
func openOut(k *seal.Key, sealed []byte) ([]byte, error) {
	var out bytes.Buffer
	_, err := k.Open(&out, bytes.NewReader(sealed))
	return out.Bytes(), err
}

func TestOpenWrongKey(t *testing.T) {
	k := testKey(t, 5)
	sealed, _ := sealBytes(t, k, smallChunker(t, k), stream("wrong", 3000))
	out, err := openOut(testKey(t, 6), sealed)
	if !errors.Is(err, seal.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	var oe *seal.OpenError
	if !errors.As(err, &oe) || oe.Record != 0 || oe.Offset != int64(len(seal.Magic)) {
		t.Errorf("got %#v, want an OpenError at record 0, byte 8", err)
	}
	if len(out) != 0 {
		t.Errorf("wrong key wrote %d bytes, want none", len(out))
	}
}

func TestOpenNotSealed(t *testing.T) {
	k := testKey(t, 5)
	for _, in := range []string{"", "SCSEAL", "plain text, not sealed"} {
		if _, err := openOut(k, []byte(in)); !errors.Is(err, seal.ErrFormat) {
			t.Errorf("%q: got %v, want ErrFormat", in, err)
		}
	}
}

type failReader struct{ err error }

func (r failReader) Read([]byte) (int, error) { return 0, r.err }

func TestOpenReadError(t *testing.T) {
	k := testKey(t, 5)
	boom := errors.New("boom")
	_, err := k.Open(io.Discard, io.MultiReader(bytes.NewReader([]byte(seal.Magic)), failReader{boom}))
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the read error", err)
	}
}

// TestSealRecords checks that the records SealRecords hands out, put
// together with AppendRecord, are the sealed file.
func TestSealRecords(t *testing.T) {
	k := testKey(t, 18)
	data := stream("records", 5000)
	sealed, recs := sealBytes(t, k, smallChunker(t, k), data)
	got := []byte(seal.Magic)
	i := 0
	err := k.SealRecords(bytes.NewReader(data), smallChunker(t, k), func(r seal.Record, payload []byte) error {
		if r != recs[i] || int(r.Size) != len(payload) {
			t.Errorf("record %d: got %x/%d (payload %d), want %x/%d", i, r.ID, r.Size, len(payload), recs[i].ID, recs[i].Size)
		}
		i++
		got = seal.AppendRecord(got, r.ID, payload)
		return nil
	})
	if err != nil || !bytes.Equal(got, sealed) {
		t.Errorf("got %d bytes (%v), want the %d sealed bytes", len(got), err, len(sealed))
	}
	if name := seal.ObjectName(recs[0].ID); len(name) != 64 {
		t.Errorf("object name %q: want 64 hex digits", name)
	}
}

// TestSealErrors checks that a failing callback, reader or splitter stops
// sealing with that error (and that sealing returns at all: the chunking
// goroutine must not block).
func TestSealErrors(t *testing.T) {
	k := testKey(t, 19)
	data := stream("errors", 50000)
	boom := errors.New("boom")
	n := 0
	err := k.SealRecords(bytes.NewReader(data), smallChunker(t, k), func(seal.Record, []byte) error {
		if n++; n == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 2 {
		t.Errorf("callback error: got %v after %d records, want boom after 2", err, n)
	}
	_, err = k.Seal(io.Discard, io.MultiReader(bytes.NewReader(data), failReader{boom}), smallChunker(t, k))
	if !errors.Is(err, boom) {
		t.Errorf("read error: got %v, want boom", err)
	}
	_, err = k.Seal(io.Discard, bytes.NewReader(make([]byte, seal.MaxChunk+1)), whole{})
	if err == nil || !strings.Contains(err.Error(), "want 1..") {
		t.Errorf("oversized chunk: got %v, want a refusal", err)
	}
	if _, err := k.Seal(failWriter{boom}, bytes.NewReader(data), smallChunker(t, k)); !errors.Is(err, boom) {
		t.Errorf("write error: got %v, want boom", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// TestOpenRecord opens records one by one, as a delta download or a
// replica restore fetches them, and refuses a changed or misnamed one.
func TestOpenRecord(t *testing.T) {
	k := testKey(t, 21)
	data := stream("records one by one", 5000)
	var plain []byte
	var payloads [][]byte
	var recs []seal.Record
	err := k.SealRecords(bytes.NewReader(data), smallChunker(t, k), func(r seal.Record, p []byte) error {
		recs = append(recs, r)
		payloads = append(payloads, append([]byte(nil), p...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.CheckList(recs); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs[:len(recs)-1] {
		var err error
		before := len(plain)
		if plain, err = k.OpenRecord(plain, r.ID, payloads[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if id := k.ChunkID(plain[before:]); id != r.ID {
			t.Errorf("record %d: ChunkID of its plaintext is %x, want %x", i, id, r.ID)
		}
	}
	if !bytes.Equal(plain, data) {
		t.Error("records opened one by one do not give the file back")
	}
	bad := append([]byte(nil), payloads[0]...)
	bad[5] ^= 1
	for name, c := range map[string]struct {
		id [32]byte
		p  []byte
	}{"changed": {recs[0].ID, bad}, "other id": {recs[1].ID, payloads[0]}, "end record": {recs[len(recs)-1].ID, payloads[len(recs)-1]}} {
		if _, err := k.OpenRecord(nil, c.id, c.p); !errors.Is(err, seal.ErrAuth) && !errors.Is(err, seal.ErrFormat) {
			t.Errorf("%s: got %v, want a refusal", name, err)
		}
	}
}
