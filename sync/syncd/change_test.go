package syncd

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"simplecloud/sync/proto"
)

func file(h proto.Hash) proto.Expect { return proto.Expect{Kind: proto.KindFile, Hash: h} }

func TestChanges(t *testing.T) {
	p := newPeer(t, true)
	p.file("a", []byte("A"))
	// Mkdir: new, existing, over a file.
	mt := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	if e := p.mustDone(&proto.Mkdir{Path: "d", Mode: 0o777, Mtime: mt}); e.Kind != proto.KindDir || e.Mode != 0o755 || e.Mtime != mt {
		t.Errorf("Mkdir: %+v", e)
	}
	p.mustDone(&proto.Mkdir{Path: "d", Mode: 0o700})
	p.wantCode(proto.CodeConflict, &proto.Mkdir{Path: "a", Mode: 0o755})
	// Rename: CAS on the source and the target.
	p.wantCode(proto.CodeConflict, &proto.Rename{From: "a", To: "d/a", Expect: file(hashOf([]byte("B")))})
	if e := p.mustDone(&proto.Rename{From: "a", To: "d/a", Expect: file(hashOf([]byte("A")))}); e.Path != "d/a" || e.Hash != hashOf([]byte("A")) {
		t.Errorf("Rename: %+v", e)
	}
	p.file("b", []byte("B"))
	p.wantCode(proto.CodeConflict, &proto.Rename{From: "b", To: "d/a", Expect: file(hashOf([]byte("B")))})
	p.mustDone(&proto.Rename{From: "b", To: "d/a", Expect: file(hashOf([]byte("B"))), ExpectTo: file(hashOf([]byte("A")))})
	if p.read("d/a") != "B" || p.read("b") != "<missing>" {
		t.Errorf("after rename over: d/a %q, b %q", p.read("d/a"), p.read("b"))
	}
	// Symlink: new, and replacing a file (kept as a version).
	p.mustDone(&proto.Symlink{Path: "d/l", Target: "../x"})
	p.wantCode(proto.CodeConflict, &proto.Symlink{Path: "d/l", Target: "y"})
	p.mustDone(&proto.Symlink{Path: "d/l", Target: "y", Expect: proto.Expect{Kind: proto.KindSymlink, Target: "../x"}})
	if got, _ := os.Readlink(filepath.Join(p.dir, "d/l")); got != "y" {
		t.Errorf("link target %q", got)
	}
	// SetAttr.
	p.wantCode(proto.CodeConflict, &proto.SetAttr{Path: "d/a", Expect: file(hashOf([]byte("A"))), Mode: 0o600})
	if e := p.mustDone(&proto.SetAttr{Path: "d/a", Expect: file(hashOf([]byte("B"))), Mode: 0o600, Mtime: mt}); e.Mode != 0o600 || e.Mtime != mt {
		t.Errorf("SetAttr: %+v", e)
	}
	// Delete: CAS, directories only when empty, versions kept.
	p.wantCode(proto.CodeConflict, &proto.Delete{Path: "d/a", Expect: file(hashOf([]byte("A")))})
	p.wantCode(proto.CodeConflict, &proto.Delete{Path: "d", Expect: proto.Expect{Kind: proto.KindDir}})
	p.do(&proto.Delete{Path: "d/a", Expect: file(hashOf([]byte("B")))})
	p.do(&proto.Delete{Path: "d/l", Expect: proto.Expect{Kind: proto.KindSymlink, Target: "y"}})
	p.do(&proto.Delete{Path: "d", Expect: proto.Expect{Kind: proto.KindDir}})
	if _, err := os.Lstat(filepath.Join(p.dir, "d")); !os.IsNotExist(err) {
		t.Errorf("d still there: %v", err)
	}
	vl := p.do(&proto.Versions{Path: ""}).(*proto.VersionList)
	kept := map[string]bool{}
	for _, v := range vl.Versions {
		kept[v.Entry.Path] = true
	}
	if !kept["d/a"] || !kept["d/l"] || len(vl.Versions) != 4 { // d/a twice (A, B), d/l twice (../x, y)
		t.Errorf("versions: %+v", vl.Versions)
	}
	// Restore the B version of d/a.
	var id string
	for _, v := range vl.Versions {
		if v.Entry.Path == "d/a" && v.Entry.Size == 1 {
			if b, _ := os.ReadFile(filepath.Join(p.dir, ".simplecloud/versions", v.ID)); string(b) == "B" {
				id = v.ID
			}
		}
	}
	os.Mkdir(filepath.Join(p.dir, "d"), 0o755)
	p.mustDone(&proto.Restore{Path: "d/a", Version: id})
	if p.read("d/a") != "B" {
		t.Errorf("restored %q", p.read("d/a"))
	}
	p.wantCode(proto.CodeConflict, &proto.Restore{Path: "d/a", Version: id})
	p.wantCode(proto.CodeBadRequest, &proto.Restore{Path: "d/a", Version: "../../etc/passwd"})
}

// TestBeneath: nothing outside the user's root is reached, through "..",
// absolute paths or symbolic links, and the server's own state is closed.
func TestBeneath(t *testing.T) {
	p := newPeer(t, true)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.Symlink(outside, filepath.Join(p.dir, "out"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(p.dir, "s"))
	for _, path := range []string{"../x", "/etc/passwd", "a/../../x", "a//b", ".simplecloud/versions/x", ".simplecloud"} {
		p.wantCode(proto.CodeBadRequest, &proto.Read{Path: path})
		p.wantCode(proto.CodeBadRequest, p.putMsgs(path, proto.Expect{}, []byte("x"))...)
		p.wantCode(proto.CodeBadRequest, &proto.Mkdir{Path: path, Mode: 0o755})
	}
	for _, m := range []proto.Message{
		&proto.Read{Path: "out/secret"},
		&proto.Read{Path: "s"},
		&proto.Chunks{Path: "s"},
		&proto.Mkdir{Path: "out/d", Mode: 0o755},
		&proto.Symlink{Path: "out/l", Target: "x"},
		&proto.List{Path: "out/"},
	} {
		if _, ok := p.do(m).(*proto.Error); !ok {
			t.Errorf("%T %+v was served", m, m)
		}
	}
	if _, ok := p.do(p.putMsgs("out/new", proto.Expect{}, []byte("x"))...).(*proto.Error); !ok {
		t.Error("an upload through a link was served")
	}
	if _, ok := p.do(&proto.Rename{From: "s", To: "out/moved", Expect: proto.Expect{Kind: proto.KindSymlink, Target: filepath.Join(outside, "secret")}}).(*proto.Error); !ok {
		t.Error("a rename into a linked directory was served")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("the outside directory changed: %v", ents)
	}
	// A link inside the root is not followed either: sync reports links
	// as links, so "in/f" does not exist for it.
	p.file("real/f", []byte("f"))
	os.Symlink("real", filepath.Join(p.dir, "in"))
	if _, ok := p.do(&proto.Read{Path: "in/f"}).(*proto.Error); !ok {
		t.Error("a read through a link inside the root was served")
	}
	if _, ok := p.do(p.putMsgs("in/g", proto.Expect{}, []byte("x"))...).(*proto.Error); !ok || p.read("real/g") != "<missing>" {
		t.Error("an upload through a link inside the root was served")
	}
	// The link itself is listed as a link and can be deleted as one.
	p.do(&proto.Delete{Path: "out", Expect: proto.Expect{Kind: proto.KindSymlink, Target: outside}})
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "secret" {
		t.Error("the target of a deleted link changed")
	}
}

// TestMalformed: a frame that breaks the protocol ends the connection with
// an error, never a panic, and changes nothing.
func TestMalformed(t *testing.T) {
	for name, raw := range map[string][]byte{
		"huge length":  {0xff, 0xff, 0xff, 0xff, 10, 0, 0, 0, 0, 1},
		"unknown type": {0, 0, 0, 6, 99, 0, 0, 0, 0, 1},
		"bad cbor":     {0, 0, 0, 8, 10, 1, 0, 0, 0, 1, 0xff, 0xff},
		"bad flags":    {0, 0, 0, 6, 10, 0x80, 0, 0, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPeer(t, true)
			writeRaw(t, p, raw)
			select {
			case err := <-p.served:
				p.served <- err
				if err == nil {
					t.Error("Serve returned nil after a malformed frame")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not end after a malformed frame")
			}
		})
	}
}

// writeRaw writes bytes on the peer's stream, below the framing.
func writeRaw(t *testing.T, p *peer, b []byte) {
	t.Helper()
	if _, err := p.raw.Write(b); err != nil {
		t.Fatal(err)
	}
}
