package syncd

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
)

func TestWritebackNext(t *testing.T) {
	const step = 8
	tests := []struct {
		name           string
		started, end   int64
		wantOff, wantN int64
		wantOK         bool
	}{
		{"nothing written", 0, 0, 0, 0, false},
		{"less than a step", 0, 7, 0, 0, false},
		{"a step", 0, 8, 0, 8, true},
		{"more than a step at once", 0, 21, 0, 21, true},
		{"less than a step since the last start", 16, 23, 0, 0, false},
		{"a step since the last start", 16, 24, 16, 8, true},
		{"a resumed file, synced up to its end", 100, 104, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := writeback{started: tt.started}
			off, n, ok := w.next(tt.end, step)
			if off != tt.wantOff || n != tt.wantN || ok != tt.wantOK {
				t.Errorf("next(%d) after %d: got %d, %d, %v, want %d, %d, %v", tt.end, tt.started, off, n, ok, tt.wantOff, tt.wantN, tt.wantOK)
			}
		})
	}
}

// TestEarlySync: a large upload is synced in the background as it
// arrives, one sync at a time, and still synced whole before its rename.
func TestEarlySync(t *testing.T) {
	oldStep, oldSync := earlySyncStep, fdatasync
	t.Cleanup(func() { earlySyncStep, fdatasync = oldStep, oldSync })
	earlySyncStep = 1 << 20
	var syncs, running, overlapped atomic.Int32
	fdatasync = func(fd int) error {
		if running.Add(1) > 1 {
			overlapped.Add(1)
		}
		defer running.Add(-1)
		syncs.Add(1)
		time.Sleep(20 * time.Millisecond)
		return oldSync(fd)
	}
	p := newPeer(t, true)
	events := watchDirect(t, filepath.Join(p.dir, "f"))
	data := make([]byte, 6<<20+123)
	rand.Read(data)
	id := p.send(&proto.Put{Transfer: proto.TransferID{9}, Path: "f"})
	for off := 0; off < len(data); off += proto.MaxData {
		p.c.Send(id, false, &proto.Data{Offset: uint64(off), Bytes: data[off:min(off+proto.MaxData, len(data))]})
		time.Sleep(2 * time.Millisecond) // the bytes arrive over a while
	}
	p.c.Send(id, true, &proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)})
	if a := p.answer(id); len(a) != 1 {
		t.Fatalf("answers %#v", a)
	}
	if p.read("f") != string(data) {
		t.Fatal("the file differs from the bytes sent")
	}
	if n := syncs.Load(); n < 2 {
		t.Errorf("%d background syncs of a 6 MiB upload with a 1 MiB step, want at least 2", n)
	}
	if overlapped.Load() != 0 {
		t.Error("two background syncs of one upload at once")
	}
	var final int
	for _, e := range events() {
		if e.sync {
			final++
			if e.destThere {
				t.Error("renamed in before the final sync ended")
			}
		}
	}
	if final != 1 {
		t.Errorf("%d final syncs, want 1", final)
	}
}

// TestEarlySyncError: a write error reported to a background sync fails
// the commit (the fsync before the rename would not see it again), and
// nothing is renamed in.
func TestEarlySyncError(t *testing.T) {
	oldStep, oldSync := earlySyncStep, fdatasync
	t.Cleanup(func() { earlySyncStep, fdatasync = oldStep, oldSync })
	earlySyncStep = 1 << 20
	var calls atomic.Int32
	fdatasync = func(fd int) error {
		if calls.Add(1) == 1 {
			return unix.EIO
		}
		return oldSync(fd)
	}
	p := newPeer(t, true)
	data := make([]byte, 3<<20)
	rand.Read(data)
	id := p.send(&proto.Put{Transfer: proto.TransferID{7}, Path: "f"})
	for off := 0; off < len(data); off += proto.MaxData {
		p.c.Send(id, false, &proto.Data{Offset: uint64(off), Bytes: data[off:min(off+proto.MaxData, len(data))]})
	}
	p.c.Send(id, true, &proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)})
	a := p.answer(id)
	if calls.Load() == 0 {
		t.Fatal("no background sync ran")
	}
	if len(a) != 1 {
		t.Fatalf("answers %#v", a)
	}
	if e, ok := a[0].(*proto.Error); !ok || !strings.Contains(e.Message, "input/output error") {
		t.Errorf("answer %#v, want an error naming the I/O error", a[0])
	}
	if _, err := os.Lstat(filepath.Join(p.dir, "f")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a failed background sync the upload is in place: %v", err)
	}
}
