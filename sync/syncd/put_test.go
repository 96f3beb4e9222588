package syncd

import (
	"testing"

	"simplecloud/sync/proto"
)

// TestUnhashedCommit: a Commit with a zero hash takes the hash of the
// bytes received from a client with proto.CapUnhashed, and is a mismatch
// from any other.
func TestUnhashedCommit(t *testing.T) {
	data := []byte("sent without a hash")
	put := func(tid byte, p string) []proto.Message {
		return []proto.Message{&proto.Put{Transfer: proto.TransferID{tid}, Path: p},
			&proto.Data{Bytes: data}, &proto.Commit{Size: uint64(len(data)), Mode: 0o644}}
	}
	p := newPeerCaps(t, true, nil, proto.CapVersions, proto.CapUnhashed)
	if e := p.mustDone(put(1, "a")...); e.Hash != hashOf(data) {
		t.Errorf("unhashed upload: the answer's hash is %s, want %s", e.Hash, hashOf(data))
	}
	if got := p.read("a"); got != string(data) {
		t.Errorf("unhashed upload: the file holds %q", got)
	}
	old := newPeer(t, true)
	old.wantCode(proto.CodeMismatch, put(2, "b")...)
}

// TestPutAnswersOnce: an upload that is not resumable gets one answer,
// its final Done (no PutReady: the client streams at once).
func TestPutAnswersOnce(t *testing.T) {
	p := newPeer(t, true)
	data := []byte("one answer")
	a := p.answer(p.send(&proto.Put{Transfer: proto.TransferID{3}, Path: "f"},
		&proto.Data{Bytes: data}, &proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)}))
	if len(a) != 1 {
		t.Fatalf("got %d answers (%T first), want the final Done only", len(a), a[0])
	}
	if _, ok := a[0].(*proto.Done); !ok {
		t.Errorf("got %T, want Done", a[0])
	}
}
