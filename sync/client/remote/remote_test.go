package remote_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/syncd"
	"simplecloud/sync/versions"
)

// connect serves a temp dir with the real sync server over net.Pipe.
func connect(t *testing.T) (*remote.Client, string) {
	t.Helper()
	dir := t.TempDir()
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		syncd.Serve(context.Background(), b, root, syncd.Options{Epoch: 7,
			Versions: versions.Open(root.Strict(), versions.DefaultPolicy(), nil)})
		b.Close()
		close(done)
	}()
	c, err := remote.Dial(context.Background(), a, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		<-done
		root.Close()
	})
	return c, dir
}

func tempWith(t *testing.T, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	t.Cleanup(func() { f.Close() })
	return f
}

func hashOf(b []byte) proto.Hash {
	h, _, _ := proto.HashReader(proto.DefaultChunker(), bytes.NewReader(b))
	return h
}

func upload(t *testing.T, c *remote.Client, p string, x proto.Expect, data []byte) (proto.Entry, remote.TransferStats, error) {
	t.Helper()
	var tid proto.TransferID
	rand.Read(tid[:])
	return c.Upload(context.Background(), p, x, tempWith(t, data),
		remote.UploadOptions{Transfer: tid, Mode: 0o644, Mtime: 1e18, Size: int64(len(data)), Hash: hashOf(data)})
}

func TestTransfers(t *testing.T) {
	ctx := context.Background()
	c, dir := connect(t)
	if c.Welcome().Epoch != 7 {
		t.Errorf("welcome %+v", c.Welcome())
	}
	big := make([]byte, 8<<20)
	rand.Read(big)
	e, st, err := upload(t, c, "big", proto.Expect{}, big)
	if err != nil || e.Hash != hashOf(big) || st.Sent != int64(len(big)) {
		t.Fatalf("upload: %+v %+v %v", e, st, err)
	}
	// Append 1 MiB: only about that much (plus a chunk) is sent.
	more := append(append([]byte{}, big...), make([]byte, 1<<20)...)
	rand.Read(more[len(big):])
	_, st, err = upload(t, c, "big", proto.Expect{Kind: proto.KindFile, Hash: hashOf(big)}, more)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent > 1<<20+(1<<20) || st.Reused < int64(len(big))-(1<<20) {
		t.Errorf("delta upload sent %d, reused %d", st.Sent, st.Reused)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "big")); !bytes.Equal(b, more) {
		t.Fatal("server file differs after the delta upload")
	}
	// Download whole, and as a delta against the old content.
	dst := tempWith(t, nil)
	if _, err := c.Download(ctx, "big", hashOf(more), nil, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst.Name()); !bytes.Equal(b, more) {
		t.Fatal("download differs")
	}
	dst2 := tempWith(t, nil)
	st, err = c.Download(ctx, "big", hashOf(more), tempWith(t, big), dst2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst2.Name()); !bytes.Equal(b, more) || st.Received > 2<<20 {
		t.Fatalf("delta download: received %d, equal %v", st.Received, bytes.Equal(b, more))
	}
	// Races: the wrong expectation is a conflict; the wrong hash, ErrChanged.
	if _, _, err := upload(t, c, "big", proto.Expect{Kind: proto.KindFile, Hash: hashOf(big)}, []byte("x")); !errors.Is(err, proto.ErrConflict) {
		t.Errorf("racing upload: %v, want a conflict", err)
	}
	if _, err := c.Download(ctx, "big", hashOf(big), nil, tempWith(t, nil)); !errors.Is(err, remote.ErrChanged) {
		t.Errorf("stale download: %v, want ErrChanged", err)
	}
	// A source that does not hash as announced is not committed.
	var tid proto.TransferID
	_, _, err = c.Upload(ctx, "x", proto.Expect{}, tempWith(t, []byte("abc")), remote.UploadOptions{Transfer: tid, Size: 3, Hash: hashOf([]byte("abd"))})
	if !errors.Is(err, remote.ErrSourceChanged) {
		t.Errorf("changed source: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Error("a changed source was committed")
	}
	if st := c.Stats(); st.BytesSent < int64(len(big)) || st.BytesReceived < int64(len(more)) {
		t.Errorf("wire stats %+v", st)
	}
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	c, dir := connect(t)
	if _, err := c.Mkdir(ctx, "d", 0o755, 0); err != nil {
		t.Fatal(err)
	}
	// Many uploads at once over the one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := upload(t, c, fmt.Sprintf("d/f%03d", i), proto.Expect{}, []byte(fmt.Sprint(i)))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := c.List(ctx, "d", proto.HashesAll, func(es []proto.Entry) error { n += len(es); return nil }); err != nil || n != 301 {
		t.Fatalf("List: %d entries, %v", n, err)
	}
	es, err := c.Stat(ctx, []string{"d/f001", "nope"}, proto.HashesAll)
	if err != nil || es[0].Hash != hashOf([]byte("1")) || es[1].Kind != proto.KindAbsent {
		t.Fatalf("Stat: %+v %v", es, err)
	}
	x := proto.Expect{Kind: proto.KindFile, Hash: hashOf([]byte("1"))}
	if _, err := c.Rename(ctx, "d/f001", "d/g", x, proto.Expect{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetAttr(ctx, "d/g", x, 0o600, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "d/g", x); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "d/g", x); !errors.Is(err, proto.ErrConflict) {
		t.Errorf("second delete: %v", err)
	}
	vs, err := c.Versions(ctx, "d/g")
	if err != nil || len(vs) != 1 {
		t.Fatalf("Versions: %+v %v", vs, err)
	}
	if _, err := c.Restore(ctx, "d/g", vs[0].ID, "", proto.Expect{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d/g")); string(b) != "1" {
		t.Errorf("restored %q", b)
	}
	if _, err := c.Symlink(ctx, "d/l", "g", proto.Expect{}); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, "nope", proto.HashesAll, func([]proto.Entry) error { return nil }); !errors.Is(err, proto.ErrNotFound) {
		t.Errorf("List of a missing path: %v", err)
	}
}
