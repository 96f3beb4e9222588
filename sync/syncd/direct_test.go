package syncd

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/durable"
	"simplecloud/sync/proto"
)

// directEvent is one direct write or file sync seen by watchDirect.
type directEvent struct {
	sync      bool // a sync, else a direct write
	off, n    int64
	direct    bool // the descriptor had O_DIRECT
	start     time.Time
	end       time.Time
	destThere bool // the upload's destination existed when it ended
}

// watchDirect wraps pwrite and durableFile to record what an upload to
// dest does, each direct write slowed down so that a commit that did not
// wait for it would be seen.
func watchDirect(t *testing.T, dest string) func() []directEvent {
	var (
		mu sync.Mutex
		ev []directEvent
	)
	there := func() bool { _, err := os.Lstat(dest); return err == nil }
	oldW, oldS := pwrite, durableFile
	pwrite = func(f *os.File, b []byte, off int64) (int, error) {
		e := directEvent{off: off, n: int64(len(b)), start: time.Now()}
		fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
		e.direct = fl&unix.O_DIRECT != 0
		time.Sleep(30 * time.Millisecond)
		n, err := oldW(f, b, off)
		e.end, e.destThere = time.Now(), there()
		mu.Lock()
		ev = append(ev, e)
		mu.Unlock()
		return n, err
	}
	durableFile = func(c *durable.Content, f *os.File) error {
		e := directEvent{sync: true, start: time.Now()}
		err := oldS(c, f)
		e.end, e.destThere = time.Now(), there()
		mu.Lock()
		ev = append(ev, e)
		mu.Unlock()
		return err
	}
	t.Cleanup(func() { pwrite, durableFile = oldW, oldS })
	return func() []directEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]directEvent(nil), ev...)
	}
}

// sendData sends data[from:to] as Data frames of size bytes (the last
// one shorter) on request id.
func sendData(p *peer, id uint32, data []byte, from, to, size int) {
	for off := from; off < to; off += size {
		p.c.Send(id, false, &proto.Data{Offset: uint64(off), Bytes: data[off:min(off+size, to)]})
	}
}

// TestDirectUpload: a large upload is written past directFrom with
// aligned O_DIRECT writes, from Data frames of odd sizes, and every direct
// write ends before the file is synced, the sync before the rename.
func TestDirectUpload(t *testing.T) {
	p := newPeer(t, true)
	events := watchDirect(t, filepath.Join(p.dir, "big"))
	data := make([]byte, directFrom+3*directBuf+5017)
	rand.Read(data)
	id := p.send(&proto.Put{Transfer: proto.TransferID{1}, Path: "big"})
	sendData(p, id, data, 0, len(data), 100003)
	p.c.Send(id, true, &proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)})
	if a := p.answer(id); len(a) != 1 {
		t.Fatalf("answers %#v", a)
	} else if _, ok := a[0].(*proto.Done); !ok {
		t.Fatalf("answer %#v, want Done", a[0])
	}
	if got := p.read("big"); got != string(data) {
		t.Fatal("the file differs from the bytes sent")
	}
	ev := events()
	var writes, covered int64
	var sync *directEvent
	for i, e := range ev {
		if e.sync {
			if sync != nil {
				t.Fatal("synced twice")
			}
			sync = &ev[i]
			continue
		}
		writes++
		covered += e.n
		if !e.direct || e.off%directAlign != 0 || e.n%directAlign != 0 || e.off < directFrom {
			t.Errorf("write of %d at %d: O_DIRECT %v, want aligned O_DIRECT writes from %d", e.n, e.off, e.direct, directFrom)
		}
		if sync != nil {
			t.Errorf("direct write of %d at %d after the file's sync", e.n, e.off)
		}
		if e.destThere {
			t.Errorf("direct write at %d ended after the rename", e.off)
		}
	}
	if sync == nil {
		t.Fatal("the file was not synced")
	}
	if sync.destThere {
		t.Error("the file was renamed in before its sync ended")
	}
	// All but the unaligned tail went direct.
	if want := int64(len(data)-directFrom) &^ (directAlign - 1); writes < 3 || covered != want {
		t.Errorf("%d direct writes of %d bytes, want at least 3 of %d", writes, covered, want)
	}
	if n := len(directSlots); n != 0 {
		t.Errorf("%d direct slots still taken", n)
	}
}

// TestDirectResumeKeepsBytes: a cancelled resumable upload in direct mode
// keeps every byte that arrived (its buffers are written out), so the
// resume continues after them.
func TestDirectResumeKeepsBytes(t *testing.T) {
	p := newPeer(t, false)
	data := make([]byte, directFrom+directBuf+3*directBuf/2+77)
	rand.Read(data)
	sent := directFrom + directBuf + directBuf/2 + 11
	tid := proto.TransferID{2}
	id := p.send(&proto.Put{Transfer: tid, Path: "f", Resume: true})
	if a := <-p.frames; a.ID != id {
		t.Fatalf("frame %#v", a)
	} else if r, ok := a.Msg.(*proto.PutReady); !ok || r.Offset != 0 {
		t.Fatalf("PutReady %#v", a.Msg)
	}
	sendData(p, id, data, 0, sent, proto.MaxData)
	p.c.Send(id, true, &proto.Cancel{})
	p.answer(id)
	id = p.send(&proto.Put{Transfer: tid, Path: "f", Resume: true})
	var ready *proto.PutReady
	select {
	case f := <-p.frames:
		ready, _ = f.Msg.(*proto.PutReady)
	case <-time.After(10 * time.Second):
	}
	if ready == nil || ready.Offset != uint64(sent) {
		t.Fatalf("resume: PutReady %+v, want offset %d", ready, sent)
	}
	sendData(p, id, data, sent, len(data), proto.MaxData)
	p.c.Send(id, true, &proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)})
	a := p.answer(id)
	if _, ok := a[len(a)-1].(*proto.Done); !ok || p.read("f") != string(data) {
		t.Fatalf("resumed upload: %#v", a[len(a)-1])
	}
}

// TestDirectThenCopy: a Copy after direct writes ends them (its bytes
// come from copy_file_range) and the file is the concatenation asked for.
func TestDirectThenCopy(t *testing.T) {
	p := newPeer(t, true)
	base := make([]byte, 1<<20)
	rand.Read(base)
	p.file("f", base)
	head := make([]byte, directFrom+directBuf+4099)
	rand.Read(head)
	want := append(append(append([]byte{}, head...), base[1000:300000]...), "tail"...)
	id := p.send(&proto.Put{Transfer: proto.TransferID{3}, Path: "f", Expect: proto.Expect{Kind: proto.KindFile, Hash: hashOf(base)}})
	sendData(p, id, head, 0, len(head), proto.MaxData)
	p.c.Send(id, false, &proto.Copy{Offset: uint64(len(head)), BaseOffset: 1000, Length: 299000})
	p.c.Send(id, false, &proto.Data{Offset: uint64(len(head) + 299000), Bytes: []byte("tail")})
	p.c.Send(id, true, &proto.Commit{Size: uint64(len(want)), Mode: 0o644, Hash: hashOf(want)})
	a := p.answer(id)
	if _, ok := a[len(a)-1].(*proto.Done); !ok {
		t.Fatalf("upload: %#v", a[len(a)-1])
	}
	if got := p.read("f"); !bytes.Equal([]byte(got), want) {
		t.Fatal("the file is not the data, the copied range and the tail")
	}
}
