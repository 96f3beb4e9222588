package syncd

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

func TestWelcome(t *testing.T) {
	p := newPeer(t, true)
	if p.w.Epoch != 42 || p.w.MaxInflight != proto.MaxInflight || len(p.w.Caps) != 1 || p.w.Caps[0] != proto.CapVersions {
		t.Errorf("welcome %+v", p.w)
	}
}

func TestListStat(t *testing.T) {
	p := newPeer(t, true)
	p.file("a/b/c.txt", []byte("hello"))
	p.file("a/z", nil)
	p.file("a-b", []byte("x"))
	p.file(".simplecloud/versions/old~20260101-000000", []byte("old"))
	p.file("a/.simplecloud-tmp-123", []byte("partial"))
	os.Symlink("/etc", filepath.Join(p.dir, "a/out"))
	os.Chmod(filepath.Join(p.dir, "a-b"), 0o4755) // setuid is never carried
	var got []string
	entries := p.list("")
	for _, e := range entries {
		got = append(got, e.Kind.String()+" "+e.Path)
	}
	want := []string{"dir ", "dir a", "dir a/b", "file a/b/c.txt", "symlink a/out", "file a/z", "file a-b"}
	if strings.Join(got, ",") != strings.Join(sortLike(want, got), ",") || len(got) != len(want) {
		t.Errorf("List = %q, want (in some walk order) %q", got, want)
	}
	for _, e := range entries {
		switch e.Path {
		case "a/b/c.txt":
			if e.Hash != hashOf([]byte("hello")) || e.Size != 5 || e.Mode != 0o644 {
				t.Errorf("c.txt: %+v", e)
			}
		case "a/out":
			if e.Target != "/etc" {
				t.Errorf("link target %q", e.Target)
			}
		case "a-b":
			if e.Mode != 0o755 {
				t.Errorf("a-b mode %o, want 755 (no setuid)", e.Mode)
			}
		}
	}
	if sub := p.list("a/b"); len(sub) != 2 || sub[0].Path != "a/b" || sub[1].Path != "a/b/c.txt" {
		t.Errorf("List a/b = %+v", sub)
	}
	p.wantCode(proto.CodeNotFound, &proto.List{Path: "nope"})
	b, ok := p.do(&proto.Stat{Paths: []string{"a/z", "missing", "", "a/out"}}).(*proto.EntryBatch)
	if !ok || len(b.Entries) != 4 {
		t.Fatalf("Stat: %#v", b)
	}
	if b.Entries[0].Kind != proto.KindFile || b.Entries[0].Hash != hashOf(nil) || b.Entries[1].Kind != proto.KindAbsent ||
		b.Entries[1].Path != "missing" || b.Entries[2].Kind != proto.KindDir || b.Entries[3].Kind != proto.KindSymlink {
		t.Errorf("Stat = %+v", b.Entries)
	}
}

// sortLike returns want if got holds the same strings (List's order is
// the scanner's; the test checks the set and the root first).
func sortLike(want, got []string) []string {
	if len(got) == 0 || got[0] != want[0] {
		return want
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return want
		}
	}
	return got
}

func TestReadChunks(t *testing.T) {
	p := newPeer(t, true)
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	p.file("big", data)
	var back []byte
	for _, m := range p.answer(p.send(&proto.Read{Path: "big", Hash: hashOf(data)})) {
		if d, ok := m.(*proto.Data); ok {
			if int(d.Offset) != len(back) {
				t.Fatalf("data at %d, want %d", d.Offset, len(back))
			}
			back = append(back, d.Bytes...)
		} else if _, ok := m.(*proto.Done); !ok {
			t.Fatalf("Read answered %#v", m)
		}
	}
	if !bytes.Equal(back, data) {
		t.Errorf("read %d bytes, not the file's %d", len(back), len(data))
	}
	part := p.answer(p.send(&proto.Read{Path: "big", Offset: 100, Length: 10}))
	if d, ok := part[0].(*proto.Data); !ok || d.Offset != 100 || !bytes.Equal(d.Bytes, data[100:110]) {
		t.Errorf("ranged read: %#v", part[0])
	}
	e := p.wantCode(proto.CodeConflict, &proto.Read{Path: "big", Hash: hashOf([]byte("other"))})
	if e.Current == nil || e.Current.Hash != hashOf(data) {
		t.Errorf("conflict's current: %+v", e.Current)
	}
	var refs []proto.ChunkRef
	var final *proto.ChunkList
	for _, m := range p.answer(p.send(&proto.Chunks{Path: "big"})) {
		cl := m.(*proto.ChunkList)
		refs = append(refs, cl.Chunks...)
		final = cl
	}
	if final.Hash != hashOf(data) || final.Size != uint64(len(data)) || proto.FileHash(refs) != final.Hash || len(refs) < 4 {
		t.Errorf("Chunks: %d refs, hash %s size %d", len(refs), final.Hash, final.Size)
	}
	p.wantCode(proto.CodeConflict, &proto.Chunks{Path: "big", Hash: hashOf(nil)})
	p.wantCode(proto.CodeNotFound, &proto.Read{Path: "nope"})
}

func TestPut(t *testing.T) {
	p := newPeer(t, true)
	mt := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC).UnixNano()
	data := bytes.Repeat([]byte("new file "), 100_000)
	e, ok := p.upload("d/new", proto.Expect{}, data, 0o777, mt).(*proto.Done)
	if ok {
		t.Fatalf("upload into a missing directory succeeded: %+v", e)
	}
	os.Mkdir(filepath.Join(p.dir, "d"), 0o755)
	d, ok := p.upload("d/new", proto.Expect{}, data, 0o777, mt).(*proto.Done)
	if !ok {
		t.Fatalf("upload: not done")
	}
	st, _ := os.Stat(filepath.Join(p.dir, "d/new"))
	if p.read("d/new") != string(data) || st.Mode() != 0o755 || st.ModTime().UnixNano() != mt {
		t.Errorf("uploaded file: mode %v mtime %v", st.Mode(), st.ModTime())
	}
	if d.Entry.Hash != hashOf(data) || d.Entry.Mode != 0o755 {
		t.Errorf("Done entry %+v", d.Entry)
	}
	// Expecting nothing where a file is: conflict, nothing changed.
	e2 := p.wantCode(proto.CodeConflict, p.putMsgs("d/new", proto.Expect{}, []byte("other"))...)
	if e2.Current == nil || e2.Current.Hash != hashOf(data) {
		t.Errorf("conflict's current %+v", e2.Current)
	}
	// Expecting the wrong content: conflict.
	p.wantCode(proto.CodeConflict, p.putMsgs("d/new", proto.Expect{Kind: proto.KindFile, Hash: hashOf([]byte("x"))}, []byte("other"))...)
	if p.read("d/new") != string(data) {
		t.Fatal("a refused upload changed the file")
	}
	// A delta: the first 100 KiB copied from the old file, then new bytes.
	next := append(append([]byte{}, data[:100<<10]...), []byte("appended")...)
	var tid proto.TransferID
	tid[0] = 9
	m := p.do(&proto.Put{Transfer: tid, Path: "d/new", Expect: proto.Expect{Kind: proto.KindFile, Hash: hashOf(data)}},
		&proto.Copy{Offset: 0, BaseOffset: 0, Length: 100 << 10},
		&proto.Data{Offset: 100 << 10, Bytes: []byte("appended")},
		&proto.Commit{Size: uint64(len(next)), Mtime: mt, Mode: 0o600, Hash: hashOf(next)})
	if _, ok := m.(*proto.Done); !ok || p.read("d/new") != string(next) {
		t.Fatalf("delta upload: %#v", m)
	}
	if st, _ := os.Stat(filepath.Join(p.dir, "d/new")); st.Mode() != 0o600 {
		t.Errorf("a replaced file keeps the mode sent: %v", st.Mode())
	}
	// The replaced content is a version.
	vl := p.do(&proto.Versions{Path: "d/new"}).(*proto.VersionList)
	if len(vl.Versions) != 1 || p.read(filepath.Join(".simplecloud/versions", vl.Versions[0].ID)) != string(data) {
		t.Errorf("versions: %+v", vl.Versions)
	}
	// Flush is answered with Done.
	if m := p.do(&proto.Flush{}); m.Type() != proto.TypeDone {
		t.Errorf("flush: got %#v, want Done", m)
	}
	// A wrong hash at commit is refused and leaves nothing.
	m = p.do(&proto.Put{Transfer: tid, Path: "d/other", Expect: proto.Expect{}},
		&proto.Data{Offset: 0, Bytes: []byte("abc")},
		&proto.Commit{Size: 3, Mode: 0o644, Hash: hashOf([]byte("abd"))})
	if e, ok := m.(*proto.Error); !ok || e.Code != proto.CodeMismatch || p.read("d/other") != "<missing>" {
		t.Errorf("bad hash: %#v", m)
	}
	for _, d := range []string{".simplecloud/tmp", "d"} {
		ents, _ := os.ReadDir(filepath.Join(p.dir, d))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), core.TempPrefix) || d != "d" {
				t.Errorf("temporary file left: %s/%s", d, e.Name())
			}
		}
	}
}

// putMsgs is a whole upload's frames.
func (p *peer) putMsgs(path string, x proto.Expect, data []byte) []proto.Message {
	return []proto.Message{&proto.Put{Path: path, Expect: x}, &proto.Data{Bytes: data},
		&proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)}}
}

func TestResume(t *testing.T) {
	p := newPeer(t, false)
	data := make([]byte, 1<<20)
	rand.Read(data)
	var tid proto.TransferID
	tid[3] = 7
	id := p.send(&proto.Put{Transfer: tid, Path: "f", Expect: proto.Expect{}, Resume: true})
	p.c.Send(id, false, &proto.Data{Offset: 0, Bytes: data[:300<<10][:256<<10]})
	p.c.Send(id, true, &proto.Cancel{})
	a := p.answer(id)
	if e, ok := a[len(a)-1].(*proto.Error); !ok || e.Code != proto.CodeCanceled {
		t.Fatalf("cancel: %#v", a)
	}
	id = p.send(&proto.Put{Transfer: tid, Path: "f", Expect: proto.Expect{}, Resume: true})
	var ready *proto.PutReady
	select {
	case f := <-p.frames:
		ready, _ = f.Msg.(*proto.PutReady)
	case <-time.After(10 * time.Second):
	}
	if ready == nil || ready.Offset != 256<<10 {
		t.Fatalf("resume: PutReady %+v, want offset %d", ready, 256<<10)
	}
	for off := int(ready.Offset); off < len(data); off += proto.MaxData {
		p.c.Send(id, false, &proto.Data{Offset: uint64(off), Bytes: data[off:min(off+proto.MaxData, len(data))]})
	}
	p.c.Send(id, true, &proto.Commit{Size: uint64(len(data)), Mode: 0o644, Hash: hashOf(data)})
	a = p.answer(id)
	if _, ok := a[len(a)-1].(*proto.Done); !ok || p.read("f") != string(data) {
		t.Fatalf("resumed upload: %#v", a[len(a)-1])
	}
}

// TestSubscribe: changes made by anyone under the subscribed folder arrive
// as Changes with growing Seq and the Welcome's epoch; a file being
// written arrives once closed.
func TestSubscribe(t *testing.T) {
	p := newPeer(t, true)
	os.MkdirAll(filepath.Join(p.dir, "Sync"), 0o755)
	id := p.send(&proto.Subscribe{Path: "Sync"})
	next := func() *proto.Changes {
		t.Helper()
		select {
		case f := <-p.frames:
			c, ok := f.Msg.(*proto.Changes)
			if !ok || f.ID != id {
				t.Fatalf("feed frame %#v", f)
			}
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no change within 10s")
		}
		return nil
	}
	// Let the watch get in place: poll with a marker file until it shows.
	deadline := time.Now().Add(10 * time.Second)
	var c *proto.Changes
	for c == nil && time.Now().Before(deadline) {
		p.file("Sync/marker", []byte("m"))
		select {
		case f := <-p.frames:
			c = f.Msg.(*proto.Changes)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if c == nil || c.Epoch != 42 || c.Seq != 1 {
		t.Fatalf("first change %+v", c)
	}
	for drained := false; !drained; {
		select {
		case <-p.frames:
		case <-time.After(200 * time.Millisecond):
			drained = true
		}
	}
	f, _ := os.Create(filepath.Join(p.dir, "Sync/slow"))
	f.Write([]byte("half"))
	select {
	case fr := <-p.frames:
		t.Fatalf("a file being written was reported: %#v", fr.Msg)
	case <-time.After(300 * time.Millisecond):
	}
	f.Write([]byte(" and the rest"))
	f.Close()
	c = next()
	if len(c.Entries) != 1 || c.Entries[0].Path != "Sync/slow" || c.Entries[0].Hash != hashOf([]byte("half and the rest")) {
		t.Errorf("closed file: %+v", c.Entries)
	}
	// A tree moved in by another process, and a delete.
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, "dl/sub"), 0o755)
	os.WriteFile(filepath.Join(out, "dl/sub/film"), []byte("film"), 0o644)
	os.Rename(filepath.Join(out, "dl"), filepath.Join(p.dir, "Sync/dl"))
	c = next()
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.Path)
	}
	if strings.Join(got, ",") != "Sync/dl,Sync/dl/sub,Sync/dl/sub/film" {
		t.Errorf("moved-in tree: %q", got)
	}
	os.Remove(filepath.Join(p.dir, "Sync/marker"))
	c = next()
	if len(c.Entries) != 1 || c.Entries[0].Kind != proto.KindAbsent {
		t.Errorf("delete: %+v", c.Entries)
	}
	p.c.Send(id, true, &proto.Cancel{})
	a := p.answer(id)
	if e, ok := a[len(a)-1].(*proto.Error); !ok || e.Code != proto.CodeCanceled {
		t.Errorf("cancel: %#v", a[len(a)-1])
	}
}

// TestStaleUploads: an upload abandoned for more than a day is removed at
// the next session; a recent one stays for a resume.
func TestStaleUploads(t *testing.T) {
	p := newPeer(t, false)
	os.MkdirAll(filepath.Join(p.dir, ".simplecloud/tmp"), 0o700)
	old, recent := filepath.Join(p.dir, ".simplecloud/tmp/put-old"), filepath.Join(p.dir, ".simplecloud/tmp/put-new")
	os.WriteFile(old, []byte("x"), 0o600)
	os.WriteFile(recent, []byte("x"), 0o600)
	long := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, long, long)
	root, _ := rootfs.Open(p.dir)
	defer root.Close()
	q := &session{root: root.Strict(), opt: Options{Now: time.Now}, log: slog.New(slog.DiscardHandler)}
	q.removeStale()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("an upload abandoned two days ago is still there")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("a recent upload was removed: %v", err)
	}
}

// TestDirSyncs: dirSyncs syncs real directories, reports a missing one,
// and forgets directories nobody waits for.
func TestDirSyncs(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	d := newDirSyncs(root.Strict(), false)
	for _, p := range []string{"d/f", "top"} {
		if err := d.syncParent(p); err != nil {
			t.Errorf("syncParent(%q): %v", p, err)
		}
	}
	if err := d.syncParent("missing/f"); err == nil {
		t.Error("sync of a missing directory succeeded")
	}
	if len(d.m) != 0 {
		t.Errorf("directories kept after their syncs: %v", d.m)
	}
	// Deferred: changes mark their directories; flush syncs them once and
	// keeps the one that failed for the next flush.
	d = newDirSyncs(root.Strict(), true)
	for _, p := range []string{"d/f", "d/g", "top", "missing/f"} {
		if err := d.changed(p); err != nil {
			t.Errorf("changed(%q): %v", p, err)
		}
	}
	if len(d.dirty) != 3 {
		t.Errorf("marked: got %v, want d, the root and missing", d.dirty)
	}
	if err := d.flush(); err != nil {
		t.Errorf("flush with a directory removed since: %v", err)
	}
	if len(d.dirty) != 0 {
		t.Errorf("after flush: %v left marked", d.dirty)
	}
}

// TestPutLocked: a transfer whose temporary file another session holds is
// refused as a conflict, not written by two.
func TestPutLocked(t *testing.T) {
	p := newPeer(t, false)
	var tid proto.TransferID
	tid[0] = 0xab
	os.MkdirAll(filepath.Join(p.dir, ".simplecloud/tmp"), 0o700)
	f, err := os.Create(filepath.Join(p.dir, ".simplecloud/tmp/put-ab000000000000000000000000000000"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	p.wantCode(proto.CodeConflict, &proto.Put{Transfer: tid, Path: "f", Resume: true}, &proto.Data{Bytes: data},
		&proto.Commit{Size: 1, Mode: 0o644, Hash: hashOf(data)})
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if _, ok := p.do(&proto.Put{Transfer: tid, Path: "f"}, &proto.Data{Bytes: data},
		&proto.Commit{Size: 1, Mode: 0o644, Hash: hashOf(data)}).(*proto.Done); !ok {
		t.Error("the unlocked transfer failed")
	}
}

// TestStaleUploadTemps: a List removes the temporary files of uploads a
// killed server left beside their destinations once they are a day old,
// and leaves younger ones (an upload may still be running) alone.
func TestStaleUploadTemps(t *testing.T) {
	p := newPeer(t, false)
	old, young := "d/"+uploadTemp+"0001", "d/"+uploadTemp+"0002"
	p.file(old, []byte("half"))
	p.file(young, []byte("half"))
	p.file("d/.simplecloud-tmp-other", []byte("not ours"))
	then := time.Now().Add(-2 * staleAfter)
	os.Chtimes(filepath.Join(p.dir, old), then, then)
	os.Chtimes(filepath.Join(p.dir, "d/.simplecloud-tmp-other"), then, then)
	p.do(&proto.List{Path: ""})
	for name, want := range map[string]string{old: "<missing>", young: "half", "d/.simplecloud-tmp-other": "not ours"} {
		if got := p.read(name); got != want {
			t.Errorf("%s after a List: got %q, want %q", name, got, want)
		}
	}
}

// TestPutRemembers: a committed upload's hash is in the cache, so the
// next Stat reads nothing back (the file's own hash attribute is there
// and valid after the rename).
func TestPutRemembers(t *testing.T) {
	p := newPeer(t, false)
	data := []byte("remember me")
	old := time.Now().Add(-time.Hour).UnixNano()
	m := p.do(&proto.Put{Path: "f"}, &proto.Data{Bytes: data},
		&proto.Commit{Size: uint64(len(data)), Mode: 0o644, Mtime: old, Hash: hashOf(data)})
	if _, ok := m.(*proto.Done); !ok {
		t.Fatalf("upload: %#v", m)
	}
	r, err := rootfs.Open(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sc := scan.New(r, scan.Options{Hasher: proto.PlainHasher{}})
	e, ok, err := sc.Stat("f", false)
	if err != nil || !ok || proto.Hash(e.Hash) != hashOf(data) || sc.Summary().Hashed != 0 || sc.Summary().CacheHits != 1 {
		t.Errorf("stat after the upload: %+v, %v, %v, %+v; want the hash from the cache, nothing hashed", e, ok, err, sc.Summary())
	}
}

// TestReadStoresHash: a Read whose hash check is the first scan to cache
// the file's hash (which sets its ctime) serves the file, not a conflict:
// a client downloading files a few seconds old got "changed on the
// server" for most of them.
func TestReadStoresHash(t *testing.T) {
	p := newPeer(t, false)
	data := []byte("a file no scan has cached yet")
	p.file("f", data)
	full := filepath.Join(p.dir, "f")
	testutil.Eventually(t, 10*time.Second, func() error {
		var st syscall.Stat_t
		if err := syscall.Stat(full, &st); err != nil {
			return err
		}
		if age := time.Since(time.Unix(st.Ctim.Unix())); age <= scan.DefaultRacyWindow {
			return fmt.Errorf("changed %v ago, within the racy window", age)
		}
		return nil
	})
	a := p.answer(p.send(&proto.Read{Path: "f", Hash: hashOf(data)}))
	if _, ok := a[len(a)-1].(*proto.Done); !ok {
		t.Fatalf("read: got %#v, want the file", a[len(a)-1])
	}
	if n, _ := syscall.Getxattr(full, scan.XattrName, make([]byte, 256)); n <= 0 {
		t.Error("the read's check cached no hash: the test did not test the case")
	}
}
