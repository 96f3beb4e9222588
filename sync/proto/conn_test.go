package proto

import (
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
)

func entry(path string) Entry {
	return Entry{Path: path, Kind: KindFile, Size: 12345, Mtime: 1764888000123456789, Mode: 0o644,
		Hash: ChunkID([]byte(path))}
}

// allMessages holds one filled-in message of every type.
func allMessages() []Message {
	ex := Expect{Kind: KindFile, Hash: ChunkID([]byte("old"))}
	link := Entry{Path: "docs/link", Kind: KindSymlink, Mtime: 1, Mode: 0o777, Target: "../x"}
	return []Message{
		&Hello{Versions: []uint32{1, 2}, Caps: []string{CapVersions}, Agent: "simplecloud test"},
		&Welcome{Version: 1, Caps: []string{CapSealed}, Agent: "s", Epoch: 42, MaxInflight: 64, Versions: []uint32{1}},
		&Bye{Reason: "shutting down"},
		&List{Path: "docs", Hashes: HashesCached, Format: FormatSealed, Digests: true},
		&Stat{Paths: []string{"a", "b/c"}, Hashes: HashesNone},
		&Subscribe{Path: "docs", Format: FormatSealed},
		&Chunks{Path: "a", Hash: ChunkID([]byte("a"))},
		&Read{Path: "a", Hash: ChunkID([]byte("a")), Offset: 1 << 40, Length: 7},
		&Put{Transfer: TransferID{1, 2, 3}, Path: "a", Expect: ex, Resume: true, Format: FormatSealed},
		&Copy{Offset: 10, BaseOffset: 20, Length: 30},
		&Data{Offset: 99, Bytes: []byte("hello\x00world")},
		&Commit{Size: 11, Mtime: -5, Mode: 0o600, Hash: ChunkID([]byte("new"))},
		&Delete{Path: "a", Expect: ex},
		&Rename{From: "a", To: "b", Expect: ex, ExpectTo: Expect{Kind: KindAbsent}},
		&Mkdir{Path: "d", Mode: 0o755, Mtime: 3},
		&Symlink{Path: "l", Target: "/abs/\xff", Expect: Expect{Kind: KindSymlink, Target: "old"}},
		&SetAttr{Path: "a", Expect: ex, Mode: 0o640, Mtime: 8},
		&Versions{Path: "a"},
		&Restore{Path: "a", Version: "20261204-101010.1", Expect: ex, To: "a.restored"},
		&Cancel{Discard: true},
		&EntryBatch{Entries: Entries{{Path: "", Kind: KindDir, Mode: 0o755}, entry("docs/a"), entry("docs/b"), link}, Same: []uint32{0, 7}},
		&Changes{Epoch: 42, Seq: 7, Entries: Entries{entry("x"), {Path: "y"}}},
		&Rescan{Epoch: 42, Reason: "inotify queue overflow"},
		&ChunkList{Chunks: []ChunkRef{{ID: ChunkID([]byte("c")), Size: 100}}, Hash: ChunkID([]byte("f")), Size: 100},
		&PutReady{Offset: 4096},
		&Done{Entry: &link},
		&VersionList{Versions: []Version{{ID: "v1", Kept: 5, Entry: entry("a")}}},
		&Error{Code: CodeConflict, Message: "changed meanwhile", Current: &link},
		&Flush{},
		&Node{ID: "0123456789abcdef0123456789abcdef", Name: "laptop", Path: "docs"},
		&NodeList{Nodes: []NodeInfo{{ID: "0123456789abcdef0123456789abcdef", Name: "laptop", Seen: 1 << 60}}},
		&DirDigests{Dirs: DirSums{{Path: "docs", Digest: DirDigest{1}}, {Path: "docs/a", Digest: DirDigest{31: 2}}}},
	}
}

// TestRoundTrip sends every message type over net.Pipe and checks it comes
// back equal, with its id and final flag.
func TestRoundTrip(t *testing.T) {
	msgs := allMessages()
	if len(msgs) != 32 {
		t.Fatalf("allMessages has %d types, want all 32", len(msgs))
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ca, cb := newConn(a), newConn(b)
	go func() {
		for i, m := range msgs {
			if err := ca.Send(uint32(i+1), i%2 == 0, m); err != nil {
				t.Errorf("send %T: %v", m, err)
				return
			}
		}
	}()
	for i, want := range msgs {
		f, err := cb.Recv()
		if err != nil {
			t.Fatalf("recv %T: %v", want, err)
		}
		if f.ID != uint32(i+1) || f.Final != (i%2 == 0) {
			t.Errorf("%T: got id %d final %v, want %d %v", want, f.ID, f.Final, i+1, i%2 == 0)
		}
		if !reflect.DeepEqual(f.Msg, want) {
			t.Errorf("%T: got %+v, want %+v", want, f.Msg, want)
		}
	}
}

func TestSendTooLarge(t *testing.T) {
	c := newConn(struct {
		io.Reader
		io.Writer
	}{strings.NewReader(""), io.Discard})
	var es Entries
	for i := range 400 {
		es = append(es, Entry{Path: strings.Repeat(string(rune('a'+i%2)), MaxPath), Kind: KindFile})
	}
	err := c.Send(1, true, &EntryBatch{Entries: es})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("sending a 1.6 MB batch: got %v, want ErrTooLarge", err)
	}
	if err := c.Send(1, true, &Data{Bytes: make([]byte, MaxData+1)}); err == nil {
		t.Error("sending data beyond MaxData: got no error")
	}
}

func TestBatches(t *testing.T) {
	var es []Entry
	for range 2500 {
		es = append(es, entry("p"))
	}
	es = append(es, Entry{Path: strings.Repeat("y", MaxPath)})
	total := 0
	for _, b := range Batches(es) {
		if len(b) > 1024 {
			t.Errorf("batch of %d entries, want at most 1024", len(b))
		}
		total += len(b)
	}
	if total != len(es) {
		t.Errorf("batches hold %d entries, want %d", total, len(es))
	}
}

func TestErrorIs(t *testing.T) {
	var err error = &Error{Code: CodeConflict, Message: "x"}
	if !errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is on %v: want conflict only", err)
	}
}
