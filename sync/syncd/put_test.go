package syncd

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

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

// TestUploadLeavesNothingCached: a committed upload's pages are dropped
// from the page cache once on disk (dropCached), small or written
// directly; on tmpfs, where the cache is the storage, they stay.
func TestUploadLeavesNothingCached(t *testing.T) {
	p := newPeer(t, true)
	var st unix.Statfs_t
	if err := unix.Statfs(p.dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		t.Skip("the test directory is on tmpfs: nothing to drop")
	}
	for _, size := range []int{64 << 10, directFrom + 3<<20 + 100} {
		name := fmt.Sprint("f", size)
		data := make([]byte, size)
		rand.Read(data)
		if _, ok := p.upload(name, proto.Expect{}, data, 0o644, 1).(*proto.Done); !ok {
			t.Fatalf("upload of %d bytes failed", size)
		}
		if n := residentPages(t, filepath.Join(p.dir, name)); n != 0 {
			t.Errorf("upload of %d bytes: %d pages still cached, want none", size, n)
		}
		if got := p.read(name); got != string(data) {
			t.Errorf("upload of %d bytes: the file does not hold what was sent", size)
		}
	}
}

// residentPages counts the pages of the file at name in the page cache.
func residentPages(t *testing.T, name string) int {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	pages := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&pages[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, b := range pages {
		n += int(b & 1)
	}
	return n
}
