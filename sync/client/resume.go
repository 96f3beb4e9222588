package client

import (
	"crypto/rand"
	"crypto/sha256"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// resumeMin is the size from which an upload is resumable: below it a
// transfer is cheaper to send again than the round trip a resume costs
// (the client waits for the server's offset before sending).
const resumeMin = 8 << 20

// transferID names an upload. A large file's id is derived from what the
// upload is (this sync, the path, the content sent and the content
// replaced), so the run after an interrupted one (a dropped connection,
// a killed client) asks the server for the same transfer with Resume and
// sends only what the server does not hold yet, with nothing to remember
// in between; the server checks the finished file's hash, so a wrong
// prefix can only fail the commit, never be committed. Content that
// changed gets another id, and so a fresh transfer. A small file gets a
// random id and no resume.
func (x *executor) transferID(a core.Action) (proto.TransferID, bool) {
	var id proto.TransferID
	if a.New.Size < resumeMin {
		rand.Read(id[:])
		return id, false
	}
	h := sha256.New()
	h.Write([]byte("simplecloud-sync upload v1\x00" + x.id + "\x00" + a.Path + "\x00"))
	h.Write(a.New.Hash[:])
	h.Write([]byte{byte(a.Old.Kind)})
	h.Write(a.Old.Hash[:])
	copy(id[:], h.Sum(nil))
	return id, true
}
