package server_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
	"simplecloud/sync/proto"
)

// TestSyncOracleSeesQuietChange lists a user's tree through the real
// server until its files come from the scan index without a stat (the
// parent's fanotify oracle says their directories did not change), then
// rewrites a file behind the client's back with its size and mtime kept:
// the next listing has the new hash.
func TestSyncOracleSeesQuietChange(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	// A tmpfs of its own: on the shared /tmp, another process's hard link
	// would count as "everything changed" and no listing would reuse.
	root := testutil.PrivateFS(t)
	for p := filepath.Dir(root); p != filepath.Dir(filepath.Dir(filepath.Dir(root))); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	s.mustSFTP(t, u.name, u.key, "mkdir d\n")
	home := filepath.Join(root, u.name)
	old := time.Now().Add(-time.Hour)
	for i := range 20 {
		p := filepath.Join(home, "d", fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("content %02d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, u.uid, u.gid)
		os.Chtimes(p, old, old)
	}
	time.Sleep(2100 * time.Millisecond) // past the scan's racy window: hashes are kept

	st := s.syncStream(t, u.name, u.key)
	c, _, err := proto.Dial(struct {
		io.Reader
		io.Writer
	}{st, st}, proto.Hello{Agent: "e2e"})
	if err != nil {
		t.Fatalf("dial: %v (ssh: %s)", err, st.stderr)
	}
	id := uint32(0)
	list := func() map[string]proto.Entry {
		id++
		out := map[string]proto.Entry{}
		for _, m := range syncRequest(t, c, id, &proto.List{Path: ""}) {
			for _, e := range m.(*proto.EntryBatch).Entries {
				out[e.Path] = e
			}
		}
		return out
	}
	// The first listing caches hashes in attributes (events), the second
	// stats again and keeps the index, the third may trust it.
	list()
	list()
	before := list()
	s.waitLog(t, "reused=20")
	if e := before["d/f07"]; e.Hash.IsZero() {
		t.Fatalf("d/f07 listed without a hash: %+v", e)
	}
	// Past the attribute cache's own slack after its write (see sync/scan),
	// which the first listing made moments ago.
	time.Sleep(100 * time.Millisecond)
	p := filepath.Join(home, "d", "f07")
	if err := os.WriteFile(p, []byte("CONTENT 07"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, old, old)
	after := list()
	if after["d/f07"].Hash == before["d/f07"].Hash {
		t.Fatal("a file rewritten with its size and mtime kept is listed with its old hash")
	}
	if after["d/f07"].Size != before["d/f07"].Size || after["d/f07"].Mtime != before["d/f07"].Mtime {
		t.Fatalf("size or mtime changed: %+v, %+v", before["d/f07"], after["d/f07"])
	}
	if strings.Count(s.logs.String(), "reused=20") < 1 {
		t.Fatal("no listing reused the index")
	}
	c.Send(0, true, &proto.Bye{})
}
