package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/syncd"
	"simplecloud/sync/versions"
)

// pair is a local folder and a server (the real sync server over
// net.Pipe, serving a temp dir as the user's root).
type pair struct {
	t      *testing.T
	local  string
	server string // the user's root; the synced folder is server/Sync
	state  string
	rc     *remote.Client
	served chan struct{} // closed when the server of rc's connection ended (connectWith's; nil: none to wait for)
}

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{t: t, local: filepath.Join(t.TempDir(), "Local"), server: t.TempDir(), state: t.TempDir()}
	root, err := rootfs.Open(p.server)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		syncd.Serve(context.Background(), b, root, syncd.Options{Epoch: 1, Umask: 0o022,
			Versions: versions.Open(root.Strict(), versions.DefaultPolicy(), nil)})
		b.Close()
		close(done)
	}()
	p.rc, err = remote.Dial(context.Background(), a, "test")
	if err != nil {
		t.Fatal(err)
	}
	p.served = done
	t.Cleanup(func() { p.rc.Close(); <-done; root.Close() })
	return p
}

func (p *pair) run(mut ...func(*Options)) (Summary, error) {
	o := Options{Local: p.local, RemoteName: "test:Sync", RemotePath: "Sync", StateDir: p.state,
		Limits: core.Limits{MaxDeletePercent: 50, Grace: 2}, LocalHost: "laptop", RemoteHost: "server"}
	for _, m := range mut {
		m(&o)
	}
	return RunOnce(context.Background(), p.rc, o)
}

func (p *pair) mustRun() Summary {
	p.t.Helper()
	s, err := p.run()
	if err != nil {
		p.t.Fatalf("sync: %v", err)
	}
	return s
}

func write(t *testing.T, path, data string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists a directory as "path=content" (links "path->target"),
// leaving out .simplecloud.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return nil
		}
		if strings.HasPrefix(rel, ".simplecloud") {
			if fi.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, rel+"->"+l)
		case fi.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (p *pair) same() string {
	p.t.Helper()
	l, r := tree(p.t, p.local), tree(p.t, filepath.Join(p.server, "Sync"))
	if l != r {
		p.t.Fatalf("the sides differ:\nlocal:  %s\nserver: %s", l, r)
	}
	return l
}

func TestEngineBothWays(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a.txt"), "local a")
	write(t, filepath.Join(p.local, "d/b.txt"), "local b")
	os.Symlink("a.txt", filepath.Join(p.local, "link"))
	write(t, filepath.Join(p.server, "Sync/r.txt"), "server r")
	s := p.mustRun()
	if s.Uploaded != 3 || s.Downloaded != 1 || !s.Converged || s.Conflicts != 0 {
		t.Errorf("first run: %+v", s)
	}
	if got := p.same(); got != "a.txt=local a d/ d/b.txt=local b link->a.txt r.txt=server r" {
		t.Errorf("tree %q", got)
	}
	if s := p.mustRun(); s.Uploaded+s.Downloaded+s.DeletedLocal+s.DeletedRemote != 0 || !s.Converged {
		t.Errorf("second run did something: %+v", s)
	}
	// A change on each side, a delete on the server.
	write(t, filepath.Join(p.local, "a.txt"), "local a 2")
	write(t, filepath.Join(p.server, "Sync/new.txt"), "server new")
	os.Remove(filepath.Join(p.server, "Sync/d/b.txt"))
	s = p.mustRun()
	if s.Uploaded != 1 || s.Downloaded != 1 || s.DeletedLocal != 1 || !s.Converged {
		t.Errorf("third run: %+v", s)
	}
	p.same()
	// The local delete kept the file as a local version.
	vs, _ := os.ReadDir(filepath.Join(p.local, versions.Dir, "d"))
	if len(vs) != 1 {
		t.Errorf("local versions of d: %v", vs)
	}
	// Both changed: a conflict copy on both sides, nothing lost.
	write(t, filepath.Join(p.local, "r.txt"), "local edit")
	write(t, filepath.Join(p.server, "Sync/r.txt"), "server edit")
	s = p.mustRun()
	if s.Conflicts != 1 || !s.Converged {
		t.Errorf("conflict run: %+v", s)
	}
	got := p.same()
	if !strings.Contains(got, "edit") || strings.Count(got, "r.sync-conflict-") != 1 ||
		!(strings.Contains(got, "=local edit") && strings.Contains(got, "=server edit")) {
		t.Errorf("after the conflict: %s", got)
	}
}

func TestEngineMoveSendsNothing(t *testing.T) {
	p := newPair(t)
	big := make([]byte, 4<<20)
	rand.Read(big)
	os.MkdirAll(p.local, 0o755)
	os.WriteFile(filepath.Join(p.local, "big"), big, 0o644)
	p.mustRun()
	os.Mkdir(filepath.Join(p.local, "moved"), 0o755)
	os.Rename(filepath.Join(p.local, "big"), filepath.Join(p.local, "moved/big"))
	s := p.mustRun()
	if s.BytesSent > 64<<10 || !s.Converged {
		t.Errorf("a move sent %d bytes: %+v", s.BytesSent, s)
	}
	if b, _ := os.ReadFile(filepath.Join(p.server, "Sync/moved/big")); !bytes.Equal(b, big) {
		t.Error("moved file differs on the server")
	}
}

func TestEngineSafety(t *testing.T) {
	p := newPair(t)
	for _, n := range []string{"1", "2", "3", "4", "5", "6"} {
		write(t, filepath.Join(p.local, n), n)
	}
	p.mustRun()
	serverTree := tree(t, filepath.Join(p.server, "Sync"))
	// An emptied local folder (an unmounted disk's mount point): refused.
	os.RemoveAll(p.local)
	os.Mkdir(p.local, 0o755)
	if _, err := p.run(); !errors.Is(err, ErrUnsafe) {
		t.Errorf("empty local root: %v", err)
	}
	// A missing local folder: refused, not recreated.
	os.RemoveAll(p.local)
	if _, err := p.run(); !errors.Is(err, ErrUnsafe) {
		t.Errorf("missing local root: %v", err)
	}
	if _, err := os.Stat(p.local); !os.IsNotExist(err) {
		t.Error("the missing folder was made")
	}
	if got := tree(t, filepath.Join(p.server, "Sync")); got != serverTree {
		t.Fatalf("the server changed: %s", got)
	}
	// Deleting most files is refused unless forced.
	os.Mkdir(p.local, 0o755)
	for _, n := range []string{"1", "2"} {
		write(t, filepath.Join(p.local, n), n)
	}
	if _, err := p.run(); !errors.Is(err, ErrUnsafe) {
		t.Errorf("deleting 4 of 6: %v", err)
	}
	s, err := p.run(func(o *Options) { o.Limits.Force = true })
	if err != nil || s.DeletedRemote != 4 {
		t.Errorf("forced: %+v %v", s, err)
	}
	// Another file system than last time: refused.
	sp := StatePath(p.state, p.local, "test:Sync")
	st, anc, err := loadState(sp, p.local, "test:Sync")
	if err != nil || st == nil {
		t.Fatal(err)
	}
	st.FS.Dev++
	st.FS.FSID++
	saveState(sp, st, anc)
	if _, err := p.run(); !errors.Is(err, ErrUnsafe) {
		t.Errorf("another file system: %v", err)
	}
	// Forced, it merges as a first sync would: nothing deleted.
	os.Remove(filepath.Join(p.local, "2"))
	s, err = p.run(func(o *Options) { o.Limits.Force = true })
	if err != nil || s.DeletedRemote != 0 || s.Downloaded != 1 {
		t.Errorf("forced on another file system: %+v %v", s, err)
	}
	// A lost state merges without deleting anything.
	os.Remove(sp)
	os.Remove(filepath.Join(p.local, "1"))
	s, err = p.run()
	if err != nil || s.DeletedRemote != 0 || s.Downloaded != 1 {
		t.Errorf("without a state: %+v %v", s, err)
	}
}

func TestStateSize(t *testing.T) {
	var b core.Builder
	for i := range 20000 {
		b.Add("dir"+string(rune('a'+i%20))+"/file-"+strings.Repeat("x", i%7)+string(rune('0'+i%10))+"-"+itoa(i), core.Entry{Kind: core.File, Size: int64(i), MTime: 1e18 + int64(i), Mode: 0o644, Hash: core.Digest{byte(i), byte(i >> 8), 3}})
	}
	for c := range 20 {
		b.Add("dir"+string(rune('a'+c)), core.Entry{Kind: core.Dir, Mode: 0o755})
	}
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sp := filepath.Join(dir, "s")
	if err := saveState(sp, &state{Local: "/l", Remote: "r"}, tr); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(sp)
	per := float64(fi.Size()) / float64(tr.Len())
	t.Logf("state: %.1f bytes per entry", per)
	if per > 100 {
		t.Errorf("state of %.1f bytes per entry", per)
	}
	_, back, err := loadState(sp, "/l", "r")
	if err != nil || !back.Equal(tr) {
		t.Fatalf("round trip: %v", err)
	}
	os.WriteFile(sp, []byte("garbage"), 0o600)
	if _, _, err := loadState(sp, "/l", "r"); err == nil {
		t.Error("a damaged state loaded")
	}
}

func itoa(i int) string {
	return strings.TrimLeft(strings.Repeat("0", 6)+string(rune('0'+i%10)), "0") + string(rune('a'+i/10%26)) + string(rune('a'+i/260%26)) + string(rune('a'+i/6760%26))
}

// failingFlush is the server whose Flush fails: what it answered may not
// be on its disk.
type failingFlush struct{ *remote.Client }

func (failingFlush) Flush(context.Context) error { return errors.New("disk gone") }

// TestFlushBeforeSave: a run records what it changed on the server only
// after the server has made it durable: with a failing Flush the run
// fails and the last agreed state stays as it was.
func TestFlushBeforeSave(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a"), "one")
	o := Options{Local: p.local, RemoteName: "test:Sync", RemotePath: "Sync", StateDir: p.state,
		Limits: core.Limits{MaxDeletePercent: 50, Grace: 2}, LocalHost: "laptop", RemoteHost: "server"}
	if _, err := RunOnce(context.Background(), failingFlush{p.rc}, o); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("run with a failing flush: got %v, want the flush's error", err)
	}
	if _, err := os.Stat(StatePath(p.state, p.local, "test:Sync")); !os.IsNotExist(err) {
		t.Errorf("state saved although the server's flush failed: %v", err)
	}
	if s := p.mustRun(); !s.Converged {
		t.Errorf("next run: %+v, want converged", s)
	}
}

// TestStateKeptWhenNothingChanged: a run that changes nothing does not
// rewrite the state file; one that changes something does.
func TestStateKeptWhenNothingChanged(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a"), "one")
	p.mustRun()
	sp := StatePath(p.state, p.local, "test:Sync")
	ino := func() uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(sp, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	before := ino()
	p.mustRun()
	if ino() != before {
		t.Error("a run that changed nothing rewrote the state file")
	}
	write(t, filepath.Join(p.local, "b"), "two")
	p.mustRun()
	if ino() == before {
		t.Error("a run that uploaded a file kept the old state file")
	}
}
