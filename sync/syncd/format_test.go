package syncd

import (
	"bytes"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// sealedBytes makes a sealed file's bytes (made-up ids and payloads: the
// server never opens them) and its hash as the server computes it.
func sealedBytes(payloads ...string) ([]byte, proto.Hash) {
	b := []byte(proto.SealedMagic)
	var refs []proto.ChunkRef
	for i, p := range payloads {
		var id proto.Hash
		id[0], id[1] = byte(i+1), byte(len(p))
		b = proto.AppendSealedRecord(b, id, []byte(p))
		refs = append(refs, proto.ChunkRef{ID: id, Size: uint32(len(p))})
	}
	return b, proto.FileHash(refs)
}

// TestSealedFolder: a folder with the key marker is sealed. Its files are
// listed, chunked, uploaded and compared (compare-and-swap of requests
// that carry no format: Delete, Rename, SetAttr, Read) by the hash of
// their records, and a request of the wrong format is refused.
func TestSealedFolder(t *testing.T) {
	p := newPeer(t, true)
	p.file("Vault/"+proto.KeyMarker, []byte("simplecloud folder key v1\n"))
	one, h1 := sealedBytes("first chunk's ciphertext.", "end record")
	p.file("Vault/AAAA", one)
	p.file("Plain/a", []byte("plain"))

	// The wrong format either way is refused, with what to do.
	if e := p.wantCode(proto.CodeUnsupported, &proto.List{Path: "Vault"}); !bytes.Contains([]byte(e.Message), []byte("encrypted folder")) {
		t.Errorf("plain List of a sealed folder: %q", e.Message)
	}
	p.wantCode(proto.CodeUnsupported, &proto.List{Path: "Plain", Format: proto.FormatSealed})
	p.wantCode(proto.CodeUnsupported, &proto.Chunks{Path: "Vault/AAAA", Hash: h1})

	// Listed and chunked by records.
	var got proto.Entry
	for _, m := range p.answer(p.send(&proto.List{Path: "Vault", Format: proto.FormatSealed})) {
		for _, e := range m.(*proto.EntryBatch).Entries {
			if e.Path == "Vault/AAAA" {
				got = e
			}
		}
	}
	if got.Hash != h1 {
		t.Fatalf("listed hash: got %s, want the records' %s", got.Hash, h1)
	}
	cl, ok := p.do(&proto.Chunks{Path: "Vault/AAAA", Hash: h1, Format: proto.FormatSealed}).(*proto.ChunkList)
	if !ok || cl.Hash != h1 || len(cl.Chunks) != 2 || cl.Chunks[1].Size != uint32(len("end record")) {
		t.Fatalf("Chunks: got %+v, want the two records", cl)
	}

	// An upload is checked against the hash of its records.
	two, h2 := sealedBytes("second version's ciphertext", "end record 2")
	var tid proto.TransferID
	tid[0] = 7
	put := []proto.Message{&proto.Put{Transfer: tid, Path: "Vault/AAAA", Expect: proto.Expect{Kind: proto.KindFile, Hash: h1}, Format: proto.FormatSealed},
		&proto.Data{Bytes: two}, &proto.Commit{Size: uint64(len(two)), Hash: h2, Mode: 0o600}}
	if e := p.mustDone(put...); e.Hash != h2 {
		t.Errorf("upload: got hash %s, want %s", e.Hash, h2)
	}
	tid[0] = 8
	p.wantCode(proto.CodeMismatch, &proto.Put{Transfer: tid, Path: "Vault/BBBB", Format: proto.FormatSealed},
		&proto.Data{Bytes: two}, &proto.Commit{Size: uint64(len(two)), Hash: hashOf(two)})

	// Requests without a format compare sealed hashes.
	p.wantCode(proto.CodeConflict, &proto.SetAttr{Path: "Vault/AAAA", Expect: proto.Expect{Kind: proto.KindFile, Hash: h1}, Mode: 0o644})
	p.mustDone(&proto.SetAttr{Path: "Vault/AAAA", Expect: proto.Expect{Kind: proto.KindFile, Hash: h2}, Mode: 0o644})
	p.mustDone(&proto.Rename{From: "Vault/AAAA", To: "Vault/CCCC", Expect: proto.Expect{Kind: proto.KindFile, Hash: h2}})
	if _, ok := p.do(&proto.Read{Path: "Vault/CCCC", Hash: h2}).(*proto.Done); !ok {
		t.Errorf("Read with the sealed hash refused")
	}
	p.wantCode(proto.CodeConflict, &proto.Delete{Path: "Vault/CCCC", Expect: proto.Expect{Kind: proto.KindFile, Hash: hashOf(two)}})
	p.mustDone(&proto.Delete{Path: "Vault/CCCC", Expect: proto.Expect{Kind: proto.KindFile, Hash: h2}})
	if got := p.read("Vault/CCCC"); got != "<missing>" {
		t.Errorf("after Delete: %q", got)
	}
	// A plain upload anywhere below the marker is refused, and one onto a
	// directory that holds a marker (a sealed folder inside a plain one)
	// changes nothing.
	tid[0] = 9
	p.wantCode(proto.CodeUnsupported, &proto.Put{Transfer: tid, Path: "Vault/sub/x"},
		&proto.Data{Bytes: []byte("x")}, &proto.Commit{Size: 1, Hash: hashOf([]byte("x"))})
	p.file("Plain/inner/"+proto.KeyMarker, []byte("simplecloud folder key v1\n"))
	tid[0] = 10
	p.wantCode(proto.CodeConflict, &proto.Put{Transfer: tid, Path: "Plain/inner"},
		&proto.Data{Bytes: []byte("x")}, &proto.Commit{Size: 1, Hash: hashOf([]byte("x"))})
	if got := p.read("Plain/inner/" + proto.KeyMarker); got != "simplecloud folder key v1\n" {
		t.Errorf("marker after a Put onto its folder: %q", got)
	}
	// The marker itself is plain.
	p.mustDone(&proto.Delete{Path: "Vault/" + proto.KeyMarker, Expect: proto.Expect{Kind: proto.KindFile, Hash: hashOf([]byte("simplecloud folder key v1\n"))}})
}

// TestHasherTagsDiffer: the hash cache tells the folder formats' hashers
// apart, so a plain hash cached for a file is never taken for its sealed
// one (sync/scan keeps 3 bytes of the hasher's name).
func TestHasherTagsDiffer(t *testing.T) {
	plain, sealed := proto.FormatPlain.Hasher().Name(), proto.FormatSealed.Hasher().Name()
	if scan.HasherTag(plain) == scan.HasherTag(sealed) {
		t.Errorf("%q and %q have one tag", plain, sealed)
	}
}

// TestFormatMemo: the formats of one request's paths, with the
// directories above them looked up once (formatAbove's memo), are those of
// each path looked up alone, in any order, with markers at several
// levels; and a Stat of many paths answers each as a Stat of it alone.
func TestFormatMemo(t *testing.T) {
	p := newPeer(t, true)
	key := []byte("simplecloud folder key v1\n")
	p.file("Vault/"+proto.KeyMarker, key)
	p.file("deep/d1/"+proto.KeyMarker, key)
	sealed, _ := sealedBytes("ciphertext")
	for _, f := range []string{"Vault/a", "Vault/sub/b", "deep/d1/c", "deep/d1/e/f"} {
		p.file(f, sealed)
	}
	for _, f := range []string{"plain/a", "plain/sub/b", "deep/d2/c", "top"} {
		p.file(f, []byte("plain "+f))
	}
	paths := []string{"", "Vault", "Vault/a", "Vault/sub", "Vault/sub/b", "Vault/" + proto.KeyMarker,
		"deep", "deep/d1", "deep/d1/c", "deep/d1/e/f", "deep/d1/" + proto.KeyMarker, "deep/d2/c",
		"plain/a", "plain/sub/b", "top", "missing/x", "deep/d1/missing", "Vault/sub/missing", "plain/sub", "plain/b"}
	root, err := rootfs.Open(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	s := &session{root: root.Strict()}
	want := map[string]proto.Format{}
	for _, q := range paths {
		if want[q], err = s.formatOf(q); err != nil {
			t.Fatal(err)
		}
	}
	if want["deep/d1/e/f"] != proto.FormatSealed || want["deep/d2/c"] != proto.FormatPlain || want["Vault"] != proto.FormatSealed {
		t.Fatalf("formatOf: %v", want)
	}
	// A file's is its directories' (formatAbove), alone and with the
	// directories above it looked up once for many paths, in any order.
	files := []string{"Vault/a", "Vault/sub/b", "Vault/" + proto.KeyMarker, "deep/d1/c", "deep/d1/e/f",
		"deep/d1/" + proto.KeyMarker, "deep/d2/c", "plain/a", "plain/sub/b", "top", "missing/x", "deep/d1/missing"}
	for _, q := range files {
		if got, err := s.formatAbove(q, nil); err != nil || got != want[q] {
			t.Errorf("formatAbove(%q) = %v, %v; want %v", q, got, err, want[q])
		}
	}
	for round := range 5 {
		order := append([]string(nil), files...)
		mrand.New(mrand.NewPCG(uint64(round), 1)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		memo := map[string]proto.Format{}
		for _, q := range order {
			if got, err := s.formatAbove(q, memo); err != nil || got != want[q] {
				t.Errorf("round %d: formatAbove(%q) with a memo = %v, %v; want %v", round, q, got, err, want[q])
			}
		}
	}
	stat := func(ps ...string) []proto.Entry {
		return p.do(&proto.Stat{Paths: ps, Hashes: proto.HashesCached}).(*proto.EntryBatch).Entries
	}
	alone := map[string]proto.Entry{}
	for _, q := range paths {
		alone[q] = stat(q)[0]
	}
	// In the listed order, then shuffled: a Stat looks a path up in the
	// directory it opened for the path before when they share it.
	for round := range 4 {
		order := append([]string(nil), paths...)
		if round > 0 {
			mrand.New(mrand.NewPCG(uint64(round), 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for i, e := range stat(order...) {
			if q := order[i]; !reflect.DeepEqual(e, alone[q]) {
				t.Errorf("round %d: Stat of %q among many: %+v; alone: %+v", round, q, e, alone[q])
			}
		}
	}
}

// TestFormatMemoTTL: a session's uploads use the format found for their
// directory for formatTTL (a marker made meanwhile by someone else is seen
// only after it), and forget it when the session itself makes or deletes
// a marker.
func TestFormatMemoTTL(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixNano())
	p := newPeerOpt(t, true, nil, func(o *Options) {
		o.Now = func() time.Time { return time.Unix(0, now.Load()) }
	}, proto.CapVersions)
	key := []byte("simplecloud folder key v1\n")
	x := []byte("x")
	put := func(path string) proto.Message {
		t.Helper()
		return p.upload(path, proto.Expect{}, x, 0o644, 1e9)
	}
	sealedRefusal := func(m proto.Message, path string) {
		t.Helper()
		if e, ok := m.(*proto.Error); !ok || e.Code != proto.CodeUnsupported {
			t.Errorf("plain upload of %s into a sealed folder: got %#v, want CodeUnsupported", path, m)
		}
	}
	for _, d := range []string{"F", "G"} {
		if err := os.Mkdir(filepath.Join(p.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if m := put("F/a"); !isDone(m) {
		t.Fatalf("plain upload into a plain folder: %#v", m)
	}
	// A marker made on the server directly: unseen for formatTTL.
	p.file("F/"+proto.KeyMarker, key)
	if m := put("F/b"); !isDone(m) {
		t.Errorf("upload within formatTTL of the last look: %#v, want Done (the memo's answer)", m)
	}
	now.Add(int64(formatTTL))
	sealedRefusal(put("F/c"), "F/c")

	// The session's own upload of a marker is seen at once, and so is its
	// delete of it.
	if m := put("G/a"); !isDone(m) {
		t.Fatalf("plain upload into a plain folder: %#v", m)
	}
	if m := p.upload("G/"+proto.KeyMarker, proto.Expect{}, key, 0o644, 1e9); !isDone(m) {
		t.Fatalf("upload of a marker: %#v", m)
	}
	sealedRefusal(put("G/b"), "G/b")
	p.mustDone(&proto.Delete{Path: "G/" + proto.KeyMarker, Expect: proto.Expect{Kind: proto.KindFile, Hash: hashOf(key)}})
	if m := put("G/c"); !isDone(m) {
		t.Errorf("plain upload after the session deleted the marker: %#v", m)
	}
}

func isDone(m proto.Message) bool { _, ok := m.(*proto.Done); return ok }
