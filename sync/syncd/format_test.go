package syncd

import (
	"bytes"
	"testing"

	"simplecloud/sync/proto"
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
