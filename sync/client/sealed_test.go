package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/seal"
)

// TestSealedTransfers: an encrypted folder's transfers keep delta and
// resume at the granularity of records. A 24 MiB upload cut at 16 MiB
// continues in the next run; a download to a second folder cut at 16 MiB
// takes the chunks it already wrote; an append is sent and received as
// the few records it changed. The server holds only sealed files.
func TestSealedTransfers(t *testing.T) {
	p := newPair(t)
	key, err := seal.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	local2, state2 := filepath.Join(t.TempDir(), "Local2"), t.TempDir()
	one := func(o *Options) { o.Key = key }
	two := func(o *Options) { o.Key, o.Local, o.StateDir = key, local2, state2 }
	// A folder of plain files is not taken for an encrypted one.
	write(t, filepath.Join(p.local, "plain.txt"), "plain")
	p.mustRun()
	if _, err := p.run(func(o *Options) { o.Key, o.Local, o.StateDir = key, t.TempDir(), t.TempDir() }); err == nil ||
		!strings.Contains(err.Error(), "holds files but no key marker") {
		t.Fatalf("sealed run into a plain folder: got %v, want a refusal", err)
	}
	// The sealed runs: a new server root and local folder.
	p.server, p.local, p.state = t.TempDir(), filepath.Join(t.TempDir(), "Local"), t.TempDir()
	p.connect(0)
	write(t, filepath.Join(p.local, "small"), "small")
	if _, err := p.run(one, func(o *Options) { o.DryRun = true }); err != nil {
		t.Fatalf("dry run of a new encrypted folder: %v", err)
	}
	if es, _ := os.ReadDir(p.server); len(es) != 0 {
		t.Fatalf("the dry run wrote to the server: %v", es)
	}
	if s, err := p.run(one); err != nil || s.Uploaded != 1 {
		t.Fatalf("first sealed run: %+v %v", s, err)
	}

	data := make([]byte, 24<<20)
	rand.Read(data)
	write(t, filepath.Join(p.local, "big"), string(data))
	p.connect(16 << 20)
	if s, err := p.run(one); err == nil && s.Converged {
		t.Fatalf("the cut connection's run converged: %+v", s)
	}
	p.connect(0)
	s, err := p.run(one)
	if err != nil || s.Uploaded != 1 || s.BytesSent > 10<<20 {
		t.Errorf("upload after the cut: %+v %v, want the rest of the file only (under 10 MiB of 24)", s, err)
	}
	stored, err := os.ReadDir(filepath.Join(p.server, "Sync"))
	if err != nil || len(stored) != 3 {
		t.Fatalf("the server's folder: %v %v, want the marker and two files", stored, err)
	}
	for _, e := range stored {
		b, _ := os.ReadFile(filepath.Join(p.server, "Sync", e.Name()))
		if e.Name() != proto.KeyMarker && (!bytes.HasPrefix(b, []byte(proto.SealedMagic)) || bytes.Contains(b, data[:64]) || bytes.Contains(b, []byte("small"))) {
			t.Errorf("%s on the server is not a sealed file", e.Name())
		}
	}

	p.connectWith(func(c net.Conn) net.Conn { return &cutReads{Conn: c, left: 16 << 20} })
	if s, err := p.run(two); err == nil && s.Converged {
		t.Fatalf("the cut download converged: %+v", s)
	}
	p.connect(0)
	s, err = p.run(two)
	if err != nil || s.Downloaded != 1 || s.BytesReceived > 12<<20 {
		t.Errorf("download after the cut: %+v %v, want only the records not yet written (under 12 MiB of 24)", s, err)
	}
	if got, _ := os.ReadFile(filepath.Join(local2, "big")); !bytes.Equal(got, data) {
		t.Fatalf("the second folder's copy differs (%d bytes)", len(got))
	}
	t.Logf("resumed download: %d bytes received", s.BytesReceived)

	f, _ := os.OpenFile(filepath.Join(p.local, "big"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(bytes.Repeat([]byte("appended "), 100))
	f.Close()
	if s, err = p.run(one); err != nil || s.BytesSent > 2<<20 {
		t.Errorf("append: %+v %v, want a delta of records (under 2 MiB)", s, err)
	}
	sent := s.BytesSent
	if s, err = p.run(two); err != nil || s.Downloaded != 1 || s.BytesReceived > 2<<20 {
		t.Errorf("append, downloaded: %+v %v, want a delta of records (under 2 MiB)", s, err)
	}
	t.Logf("append of 900 bytes to 24 MiB: %d bytes sent, %d received", sent, s.BytesReceived)
	// A re-sync that changed nothing reads no end record: the sizes of
	// large files come from the last agreed state.
	before := p.rc.Stats().BytesReceived
	if s, err = p.run(two); err != nil || !s.Converged {
		t.Fatalf("re-sync: %+v %v", s, err)
	}
	t.Logf("re-sync: %d bytes received", p.rc.Stats().BytesReceived-before)
	a, _ := os.ReadFile(filepath.Join(p.local, "big"))
	b, _ := os.ReadFile(filepath.Join(local2, "big"))
	if !bytes.Equal(a, b) || !strings.HasSuffix(string(b), "appended ") {
		t.Errorf("the folders differ after the append")
	}
	// A server that removes the marker gets no plaintext: the folder is
	// refused.
	os.Remove(filepath.Join(p.server, "Sync", proto.KeyMarker))
	if _, err := p.run(one); err == nil || !strings.Contains(err.Error(), "no key marker") {
		t.Errorf("a folder whose marker was removed: got %v, want a refusal", err)
	}
}

// TestSealedSizes: the plaintext size of a listed sealed file comes from
// its sealed size for files of one chunk, and from the last agreed state
// for larger ones it has seen (no end record read: this sealedRemote has
// no connection to read one with).
func TestSealedSizes(t *testing.T) {
	key, _ := seal.Generate(rand.Reader)
	s := &sealedRemote{key: key, sizes: map[proto.Hash]uint64{}}
	var b core.Builder
	big := core.Entry{Kind: core.File, Size: 5 << 20, Hash: core.Digest{1}}
	if err := b.Add("big", big); err != nil {
		t.Fatal(err)
	}
	last, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s.knownSizes(last)
	for _, c := range []struct {
		e    proto.Entry
		want uint64
	}{
		{proto.Entry{Kind: proto.KindFile, Size: 52}, 0},
		{proto.Entry{Kind: proto.KindFile, Size: 52 + 52 + 100}, 100},
		{proto.Entry{Kind: proto.KindFile, Size: 52 + 52 + 65536}, 65536},
		{proto.Entry{Kind: proto.KindFile, Size: 5<<20 + 52*21, Hash: proto.Hash{1}}, 5 << 20},
	} {
		got, err := s.plainSize(context.Background(), "f", c.e)
		if err != nil || got != c.want {
			t.Errorf("sealed size %d: got %d %v, want %d", c.e.Size, got, err, c.want)
		}
	}
	if _, err := s.plainSize(context.Background(), "f", proto.Entry{Kind: proto.KindFile, Size: 51}); !errors.Is(err, ErrTampered) {
		t.Errorf("a file shorter than any sealed file: got %v, want ErrTampered", err)
	}
}
