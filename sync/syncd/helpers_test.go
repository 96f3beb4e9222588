package syncd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/versions"
)

// peer is a bare protocol client for the tests: requests one at a time,
// every frame collected by a reader goroutine (so the server never blocks
// writing while the test writes).
type peer struct {
	t      *testing.T
	c      *proto.Conn
	w      *proto.Welcome
	frames chan proto.Frame
	next   uint32
	served chan error // Serve's result
	dir    string     // the user's root
	raw    net.Conn   // the stream below the frames
}

// newPeer serves a fresh temp dir over net.Pipe and connects to it.
func newPeer(t *testing.T, withVersions bool) *peer {
	t.Helper()
	return newPeerLog(t, withVersions, nil)
}

// newPeerLog is newPeer with the server's log going to log.
func newPeerLog(t *testing.T, withVersions bool, log *slog.Logger) *peer {
	t.Helper()
	return newPeerCaps(t, withVersions, log, proto.CapVersions)
}

// newPeerCaps is newPeerLog with the client's capabilities caps.
func newPeerCaps(t *testing.T, withVersions bool, log *slog.Logger, caps ...string) *peer {
	t.Helper()
	return newPeerOpt(t, withVersions, log, nil, caps...)
}

// newPeerOpt is newPeerCaps with opt applied to the server's options.
func newPeerOpt(t *testing.T, withVersions bool, log *slog.Logger, opt func(*Options), caps ...string) *peer {
	t.Helper()
	dir := t.TempDir()
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	a, b := net.Pipe()
	o := Options{Epoch: 42, Umask: 0o022, Agent: "test", Logger: log}
	if withVersions {
		o.Versions = versions.Open(root.Strict(), versions.DefaultPolicy(), nil)
	}
	if opt != nil {
		opt(&o)
	}
	p := &peer{t: t, frames: make(chan proto.Frame, 4096), served: make(chan error, 1), dir: dir}
	go func() {
		err := Serve(context.Background(), b, root, o)
		if err != nil {
			t.Logf("Serve: %v", err)
		}
		p.served <- err
		b.Close()
	}()
	c, w, err := proto.Dial(a, proto.Hello{Agent: "peer", Caps: caps})
	if err != nil {
		t.Fatal(err)
	}
	p.c, p.w, p.raw = c, w, a
	go func() {
		defer close(p.frames)
		for {
			f, err := c.Recv()
			if err != nil {
				return
			}
			p.frames <- f
		}
	}()
	t.Cleanup(func() {
		a.Close()
		select {
		case <-p.served:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after the stream closed")
		}
	})
	return p
}

// send sends a request's frames (the last one final) and returns its id.
func (p *peer) send(ms ...proto.Message) uint32 {
	p.t.Helper()
	p.next++
	for i, m := range ms {
		if err := p.c.Send(p.next, i == len(ms)-1, m); err != nil {
			p.t.Fatalf("send %T: %v", m, err)
		}
	}
	return p.next
}

// answer collects the frames of request id up to its final one.
func (p *peer) answer(id uint32) []proto.Message {
	p.t.Helper()
	var out []proto.Message
	timeout := time.After(20 * time.Second)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				p.t.Fatalf("stream closed while waiting for request %d", id)
			}
			if f.ID != id {
				p.t.Fatalf("frame %T for request %d while waiting for %d", f.Msg, f.ID, id)
			}
			out = append(out, f.Msg)
			if f.Final {
				return out
			}
		case <-timeout:
			p.t.Fatalf("no final answer to request %d within 20s (got %d frames)", id, len(out))
		}
	}
}

// do sends a request and returns its final message.
func (p *peer) do(ms ...proto.Message) proto.Message {
	p.t.Helper()
	a := p.answer(p.send(ms...))
	return a[len(a)-1]
}

// mustDone runs a request that must succeed and returns Done's entry.
func (p *peer) mustDone(ms ...proto.Message) *proto.Entry {
	p.t.Helper()
	m := p.do(ms...)
	d, ok := m.(*proto.Done)
	if !ok {
		p.t.Fatalf("%T: got %v, want Done", ms[0], m)
	}
	return d.Entry
}

// wantCode runs a request that must fail with code and returns the error.
func (p *peer) wantCode(code proto.Code, ms ...proto.Message) *proto.Error {
	p.t.Helper()
	m := p.do(ms...)
	e, ok := m.(*proto.Error)
	if !ok || e.Code != code {
		p.t.Fatalf("%T %+v: got %#v, want error %v", ms[0], ms[0], m, code)
	}
	return e
}

// list returns the entries List answers.
func (p *peer) list(path string) []proto.Entry {
	p.t.Helper()
	var out []proto.Entry
	for _, m := range p.answer(p.send(&proto.List{Path: path})) {
		b, ok := m.(*proto.EntryBatch)
		if !ok {
			p.t.Fatalf("List %q: got %#v", path, m)
		}
		out = append(out, b.Entries...)
	}
	return out
}

// hashOf is the protocol's hash of data.
func hashOf(data []byte) proto.Hash {
	h, _, err := proto.HashReader(proto.DefaultChunker(), bytes.NewReader(data))
	if err != nil {
		panic(err)
	}
	return h
}

// file writes a file below the peer's root.
func (p *peer) file(rel string, data []byte) {
	p.t.Helper()
	full := filepath.Join(p.dir, rel)
	os.MkdirAll(filepath.Dir(full), 0o755)
	if err := os.WriteFile(full, data, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// read returns a file's content below the root ("" when missing).
func (p *peer) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(p.dir, rel))
	if errors.Is(err, os.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

// upload sends a whole file as one Put, in Data frames.
func (p *peer) upload(path string, x proto.Expect, data []byte, mode uint32, mtime int64) proto.Message {
	p.t.Helper()
	var tid proto.TransferID
	copy(tid[:], path)
	ms := []proto.Message{&proto.Put{Transfer: tid, Path: path, Expect: x}}
	for off := 0; off < len(data); off += proto.MaxData {
		ms = append(ms, &proto.Data{Offset: uint64(off), Bytes: data[off:min(off+proto.MaxData, len(data))]})
	}
	ms = append(ms, &proto.Commit{Size: uint64(len(data)), Mtime: mtime, Mode: mode, Hash: hashOf(data)})
	return p.do(ms...)
}
