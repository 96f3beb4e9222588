package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/scan"
)

// stateOf returns the agreed state the pair's client saved.
func (p *pair) stateOf() core.Tree {
	p.t.Helper()
	_, t, err := loadState(StatePath(p.state, p.local, "test:Sync"), p.local, "test:Sync")
	if err != nil {
		p.t.Fatal(err)
	}
	return t
}

// checkHashes fails unless every file of the state has the hash of the
// local file's content.
func (p *pair) checkHashes() {
	p.t.Helper()
	files := 0
	for path, e := range p.stateOf().All() {
		if e.Kind != core.File {
			continue
		}
		files++
		b, err := os.ReadFile(filepath.Join(p.local, path))
		if err != nil {
			p.t.Fatal(err)
		}
		h, _, err := proto.HashReader(proto.DefaultChunker(), bytes.NewReader(b))
		if err != nil || core.Digest(h) != e.Hash {
			p.t.Errorf("%s: the state says hash %s, the content hashes to %s (%v)", path, e.Hash, core.Digest(h), err)
		}
	}
	if files == 0 {
		p.t.Error("no file in the state")
	}
}

// TestFirstSyncUnhashed: a first sync sends its new files unhashed and
// records the hashes the server answered; the next run finds nothing to do.
func TestFirstSyncUnhashed(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a"), "alpha")
	write(t, filepath.Join(p.local, "d/b"), "beta")
	write(t, filepath.Join(p.local, "empty"), "")
	if !unhashedUploads(p.rc) {
		t.Fatal("the test server takes no unhashed upload")
	}
	s := p.mustRun()
	if s.Uploaded != 3 || !s.Converged {
		t.Fatalf("first sync: %+v", s)
	}
	p.checkHashes()
	if got := p.same(); got != "a=alpha d/ d/b=beta empty=" {
		t.Errorf("after the first sync: %s", got)
	}
	if s := p.mustRun(); s.Uploaded != 0 || s.BytesSent > 4<<10 || !s.Converged {
		t.Errorf("second run: %+v", s)
	}
}

// TestFirstSyncComparesContent: a first sync into a folder the server
// already fills still compares the files both sides hold: the same one
// is neither sent nor a conflict, a different one is a conflict.
func TestFirstSyncComparesContent(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.server, "Sync/same"), "same content")
	write(t, filepath.Join(p.server, "Sync/diff"), "server's")
	write(t, filepath.Join(p.local, "same"), "same content")
	write(t, filepath.Join(p.local, "diff"), "laptop's")
	write(t, filepath.Join(p.local, "new"), "only here")
	s := p.mustRun()
	if s.Conflicts != 1 || s.Uploaded != 2 || !s.Converged {
		// Uploaded: new, and the conflict copy of diff.
		t.Fatalf("first sync into a filled folder: %+v", s)
	}
	p.checkHashes()
}

// TestFirstSyncOldServer: a server without proto.CapUnhashed gets every
// file hashed before it is sent.
func TestFirstSyncOldServer(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a"), "alpha")
	write(t, filepath.Join(p.local, "d/b"), "beta")
	s, err := p.runWith(hashingRemote{p.rc})
	if err != nil || s.Uploaded != 2 || !s.Converged {
		t.Fatalf("first sync: %+v, %v", s, err)
	}
	p.checkHashes()
}

// hashingRemote hides the client's Unhashed and refuses uploads without a
// hash: a server of before proto.CapUnhashed.
type hashingRemote struct{ Remote }

func (h hashingRemote) Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o remote.UploadOptions) (proto.Entry, remote.TransferStats, error) {
	if o.Hash.IsZero() {
		return proto.Entry{}, remote.TransferStats{}, fmt.Errorf("upload %s: no hash", p)
	}
	return h.Remote.Upload(ctx, p, expect, src, o)
}

// TestFirstSyncChangedDuringUpload: a file written to while it is being
// sent unhashed is not recorded, nor put in place on the server: the next
// run sends what it holds then.
func TestFirstSyncChangedDuringUpload(t *testing.T) {
	p := newPair(t)
	big := filepath.Join(p.local, "big")
	data := make([]byte, 24<<20)
	rand.Read(data)
	write(t, big, string(data))
	var once gosync.Once
	p.connectWith(func(c net.Conn) net.Conn {
		return &hookConn{Conn: c, left: 4 << 20, hook: func() {
			once.Do(func() {
				// The first MiB, already sent, is now other bytes.
				f, err := os.OpenFile(big, os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
					return
				}
				rand.Read(data[:1<<20])
				f.WriteAt(data[:1<<20], 0)
				f.Close()
			})
		}}
	})
	s := p.mustRun()
	if s.Uploaded != 0 || s.Converged {
		t.Fatalf("the run whose file changed while it was sent: %+v", s)
	}
	if _, err := os.Stat(filepath.Join(p.server, "Sync/big")); !os.IsNotExist(err) {
		t.Fatalf("the server put the torn file in place (%v)", err)
	}
	if p.stateOf().Lookup("big").Present() {
		t.Fatal("the state records the file")
	}
	p.connect(0)
	if s := p.mustRun(); s.Uploaded != 1 || !s.Converged {
		t.Fatalf("the next run: %+v", s)
	}
	if got, err := os.ReadFile(filepath.Join(p.server, "Sync/big")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the server's copy differs from the file (%v)", err)
	}
	p.checkHashes()
}

// hookConn calls hook on every write once limit bytes were written.
type hookConn struct {
	net.Conn
	mu   gosync.Mutex
	left int
	hook func()
}

func (c *hookConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.left -= len(b)
	if c.left <= 0 {
		c.hook()
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// runWith is run through rc rather than the pair's connection.
func (p *pair) runWith(rc Remote) (Summary, error) {
	return RunOnce(context.Background(), rc, Options{Local: p.local, RemoteName: "test:Sync",
		RemotePath: "Sync", StateDir: p.state, Limits: core.Limits{MaxDeletePercent: 50, Grace: 2}})
}

// countingRemote counts the uploads sent without a hash.
type countingRemote struct {
	*remote.Client
	unhashed *atomic.Int32
}

func (c countingRemote) Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o remote.UploadOptions) (proto.Entry, remote.TransferStats, error) {
	if o.Hash.IsZero() {
		c.unhashed.Add(1)
	}
	return c.Client.Upload(ctx, p, expect, src, o)
}

// TestResyncUnhashed: a later run sends a new file unhashed too, but
// hashes every file when the folder lost one, so that a move is still
// found (and sends nothing), and hashes a changed file it compares with
// the ancestor.
func TestResyncUnhashed(t *testing.T) {
	p := newPair(t)
	big := make([]byte, 4<<20)
	rand.Read(big)
	write(t, filepath.Join(p.local, "big"), string(big))
	write(t, filepath.Join(p.local, "edit"), "first")
	p.mustRun()
	var n atomic.Int32
	rc := countingRemote{p.rc, &n}
	write(t, filepath.Join(p.local, "new"), "added")
	write(t, filepath.Join(p.local, "edit"), "second")
	if s, err := p.runWith(rc); err != nil || s.Uploaded != 2 || !s.Converged || n.Load() != 1 {
		t.Fatalf("a run with a new and a changed file: %+v, %v, %d unhashed uploads (want 1: the new one)", s, err, n.Load())
	}
	p.checkHashes()
	n.Store(0)
	os.Mkdir(filepath.Join(p.local, "moved"), 0o755)
	os.Rename(filepath.Join(p.local, "big"), filepath.Join(p.local, "moved/big"))
	write(t, filepath.Join(p.local, "new2"), "added too")
	s, err := p.runWith(rc)
	if err != nil || s.BytesSent > 64<<10 || !s.Converged || n.Load() != 0 {
		t.Fatalf("a run with a move and a new file: %+v, %v, %d unhashed uploads (want 0)", s, err, n.Load())
	}
	if b, _ := os.ReadFile(filepath.Join(p.server, "Sync/moved/big")); !bytes.Equal(b, big) {
		t.Error("the moved file differs on the server")
	}
	p.checkHashes()
	if got := strings.Replace(p.same(), string(big), "BIG", 1); got != "edit=second moved/ moved/big=BIG new2=added too new=added" {
		t.Errorf("after the runs: %.200q", got)
	}
}

// TestResyncHashesAncestorFiles: a file the ancestor has is hashed before
// the plan even when the server no longer has it: unchanged (its hash
// cache lost: it must be read), the server's removal applies to it,
// rather than its upload as a new file.
func TestResyncHashesAncestorFiles(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "keep"), "kept")
	write(t, filepath.Join(p.local, "gone"), "removed on the server")
	p.mustRun()
	if err := os.Remove(filepath.Join(p.server, "Sync/gone")); err != nil {
		t.Fatal(err)
	}
	unix.Removexattr(filepath.Join(p.local, "gone"), scan.XattrName) // its ctime changes: no index hit either
	s := p.mustRun()
	if s.DeletedLocal != 1 || s.Uploaded != 0 || !s.Converged {
		t.Fatalf("the server's removal of an unchanged file: %+v", s)
	}
	if got := p.same(); got != "keep=kept" {
		t.Errorf("after the run: %s", got)
	}
}
