package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/sync/core"
)

// pair is a local folder, a fake server folder and a state directory.
type pair struct {
	t                  *testing.T
	local, remote, dir string
	fake               *fakeRemote
	opt                Options
}

func newPair(t *testing.T) *pair {
	t.Helper()
	base := t.TempDir()
	p := &pair{t: t, local: filepath.Join(base, "local"), remote: filepath.Join(base, "remote"), dir: filepath.Join(base, "state")}
	for _, d := range []string{p.local, p.remote} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.fake = newFakeRemote(t, p.remote)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	p.opt = Options{Local: p.local, Server: "alice@server", StateDir: p.dir, MaxDeletePercent: 50,
		LocalHost: "laptop", RemoteHost: "server", Now: func() time.Time { return now }, NoHashCache: true}
	return p
}

func (p *pair) run() (Summary, error) {
	p.t.Helper()
	return RunOnce(context.Background(), p.fake, p.opt)
}

// sync runs once and fails the test unless the run converged.
func (p *pair) sync() Summary {
	p.t.Helper()
	s, err := p.run()
	if err != nil {
		p.t.Fatalf("run: %v", err)
	}
	if !s.Converged {
		p.t.Fatalf("run did not converge: %+v", s)
	}
	if l, r := contents(p.t, p.local), contents(p.t, p.remote); l != r {
		p.t.Fatalf("sides differ after a converged run:\nlocal:\n%s\nremote:\n%s", l, r)
	}
	return s
}

func write(t *testing.T, dir, p, data string) {
	t.Helper()
	f := filepath.Join(dir, p)
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(dir, p string) bool {
	_, err := os.Lstat(filepath.Join(dir, p))
	return err == nil
}

func TestFirstSyncBothWays(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "docs/a.txt", "local a")
	write(t, p.local, "top", "top")
	write(t, p.remote, "photos/b.jpg", "remote b")
	write(t, p.remote, "photos/deep/c", "remote c")
	if err := os.Symlink("photos/b.jpg", filepath.Join(p.remote, "link")); err != nil {
		t.Fatal(err)
	}
	write(t, p.local, "same", "same on both")
	write(t, p.remote, "same", "same on both")
	s := p.sync()
	if s.Uploaded != 2 || s.Downloaded != 3 || s.Conflicts != 0 {
		t.Errorf("got %+v, want 2 uploaded, 3 downloaded, no conflicts", s)
	}
	if got := read(t, p.local, "photos/deep/c"); got != "remote c" {
		t.Errorf("got %q, want %q", got, "remote c")
	}
	calls := p.fake.calls
	s = p.sync()
	if s != (Summary{Converged: true}) || p.fake.calls != calls {
		t.Errorf("second run: got %+v and %d calls, want nothing done", s, p.fake.calls-calls)
	}
}

func TestChanges(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a1")
	write(t, p.local, "b", "b1")
	write(t, p.local, "dir/c", "c1")
	write(t, p.local, "big", strings.Repeat("x", 100000))
	write(t, p.remote, "d", "d1")
	p.sync()

	write(t, p.local, "a", "a2 local edit")                                       // modified locally
	write(t, p.remote, "d", "d2 remote edit")                                     // modified remotely
	os.Remove(filepath.Join(p.remote, "b"))                                       // deleted remotely
	os.RemoveAll(filepath.Join(p.local, "dir"))                                   // directory deleted locally
	os.Rename(filepath.Join(p.local, "big"), filepath.Join(p.local, "big-moved")) // moved locally
	os.Chmod(filepath.Join(p.remote, "a"), 0o600)                                 // mode changed remotely, content locally
	s := p.sync()
	if read(t, p.remote, "a") != "a2 local edit" || read(t, p.local, "d") != "d2 remote edit" {
		t.Error("edits did not cross")
	}
	if exists(p.local, "b") || exists(p.remote, "dir") || exists(p.remote, "big") {
		t.Error("deletes did not cross")
	}
	if s.MovedRemote != 1 || s.BytesSent > 1000 {
		t.Errorf("got %+v, want the move done as a move (1 moved, no 100 KB sent)", s)
	}
	if st, _ := os.Stat(filepath.Join(p.local, "a")); st.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v on the local a, want 0600 from the server", st.Mode().Perm())
	}
}

func TestConflictKeepsBoth(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "notes.txt", "v1")
	p.sync()
	write(t, p.local, "notes.txt", "local v2")
	write(t, p.remote, "notes.txt", "remote v2")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(p.local, "notes.txt"), old, old) // the server's edit is newer
	s := p.sync()
	if s.Conflicts != 1 {
		t.Fatalf("got %d conflicts, want 1", s.Conflicts)
	}
	if got := read(t, p.local, "notes.txt"); got != "remote v2" {
		t.Errorf("got %q at the name, want the newer %q", got, "remote v2")
	}
	cp := "notes.sync-conflict-20261205-100000-laptop.txt"
	if got := read(t, p.remote, cp); got != "local v2" {
		t.Errorf("got %q in the conflict copy on the server, want %q", got, "local v2")
	}
}

func TestEmptyLocalRootRefused(t *testing.T) {
	p := newPair(t)
	for i := range 5 {
		write(t, p.remote, "f"+string(rune('a'+i)), "x")
	}
	p.sync()
	ents, _ := os.ReadDir(p.local)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(p.local, e.Name())) // as an unmounted disk's empty mount point
	}
	p.opt.Force = true // --force lifts the share, never this
	before := contents(t, p.remote)
	_, err := p.run()
	if !errors.Is(err, ErrUnsafe) || !errors.Is(err, core.ErrEmptyRoot) {
		t.Fatalf("got %v, want a refusal for an empty root", err)
	}
	if got := contents(t, p.remote); got != before {
		t.Errorf("server changed:\n%s\nwant\n%s", got, before)
	}
}

func TestMissingLocalRootRefused(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a")
	p.sync()
	os.Rename(p.local, p.local+".away")
	before := contents(t, p.remote)
	_, err := p.run()
	if !errors.Is(err, ErrLocalMissing) {
		t.Fatalf("got %v, want ErrLocalMissing", err)
	}
	if exists(p.local, "") || contents(t, p.remote) != before {
		t.Error("a refused run changed something")
	}
}

func TestOtherFileSystemRefused(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a")
	write(t, p.local, "b", "b")
	p.sync()
	// Simulate another file system: edit the recorded identity.
	key := StateKey{Local: p.local, Server: p.opt.Server}
	path := StatePath(p.dir, key)
	st, ok, err := LoadState(path, key)
	if err != nil || !ok {
		t.Fatalf("load state: %v %v", ok, err)
	}
	st.FS.Fsid ^= 1
	st.FS.Dev ^= 1
	if err := SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(p.local, "a"))
	_, err = p.run()
	if !errors.Is(err, ErrOtherFS) {
		t.Fatalf("got %v, want ErrOtherFS", err)
	}
	if !exists(p.remote, "a") {
		t.Fatal("the refused run deleted on the server")
	}
	p.opt.Force = true // merges as a first run: nothing deleted
	p.sync()
	if !exists(p.local, "a") {
		t.Error("a forced run on another file system deleted instead of merging")
	}
}

func TestMaxDelete(t *testing.T) {
	p := newPair(t)
	for i := range 10 {
		write(t, p.local, "f"+string(rune('0'+i)), "x")
	}
	p.sync()
	for i := range 6 {
		os.Remove(filepath.Join(p.local, "f"+string(rune('0'+i))))
	}
	_, err := p.run()
	var de *core.DeleteError
	if !errors.As(err, &de) || de.Deletes != 6 {
		t.Fatalf("got %v, want a DeleteError for 6 of 10", err)
	}
	if !exists(p.remote, "f0") {
		t.Fatal("the refused run deleted on the server")
	}
	p.opt.Force = true
	if s := p.sync(); s.DeletedRemote != 6 {
		t.Errorf("got %d deleted on the server with --force, want 6", s.DeletedRemote)
	}
}

func TestLostAncestorMergesWithoutDeleting(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a")
	write(t, p.local, "b", "b")
	p.sync()
	os.RemoveAll(p.dir)
	os.Remove(filepath.Join(p.local, "a"))
	p.sync()
	if !exists(p.remote, "a") || read(t, p.local, "a") != "a" {
		t.Error("with no ancestor a local delete was carried to the server")
	}
}

func TestCorruptStateMergesWithoutDeleting(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a")
	p.sync()
	path := StatePath(p.dir, StateKey{Local: p.local, Server: p.opt.Server})
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	os.WriteFile(path, b, 0o600)
	os.Remove(filepath.Join(p.remote, "a"))
	p.sync()
	if !exists(p.remote, "a") || !exists(p.local, "a") {
		t.Error("with a corrupt state a delete was carried over")
	}
}

func TestRaceLeftAlone(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a1")
	write(t, p.local, "b", "b1")
	p.sync()
	write(t, p.remote, "a", "a2 from the server")
	write(t, p.local, "b", "b2 local")
	p.fake.before = func(op, path string) {
		switch path {
		case "a": // the local a changes while it is being downloaded
			write(t, p.local, "a", "a3 edited locally meanwhile")
		case "b": // the server's b changes before the upload lands
			write(t, p.remote, "b", "b3 edited on the server meanwhile")
		}
	}
	s, err := p.run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Converged || s.Raced != 2 {
		t.Errorf("got %+v, want 2 raced and not converged", s)
	}
	if got := read(t, p.local, "a"); got != "a3 edited locally meanwhile" {
		t.Errorf("local a overwritten: got %q", got)
	}
	if got := read(t, p.remote, "b"); got != "b3 edited on the server meanwhile" {
		t.Errorf("server's b overwritten: got %q", got)
	}
	p.fake.before = nil
	if s := p.sync(); s.Conflicts != 2 {
		t.Errorf("got %d conflicts on the next run, want 2 (both edits kept)", s.Conflicts)
	}
}

func TestUnknownHashHeld(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a1")
	write(t, p.local, "dir/b", "b1")
	p.sync()
	write(t, p.remote, "a", "a2, longer: the server could not hash it")
	p.fake.noHash = map[string]bool{"a": true}
	s, err := p.run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Held != 1 || s.Converged {
		t.Errorf("got %+v, want 1 held and not converged", s)
	}
	if got := read(t, p.local, "a"); got != "a1" {
		t.Errorf("local a: got %q, want it left alone", got)
	}
	p.fake.noHash = nil
	p.sync()
	if got := read(t, p.local, "a"); got != "a2, longer: the server could not hash it" {
		t.Errorf("local a after the hash is known: got %q", got)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	p := newPair(t)
	write(t, p.local, "a", "a")
	write(t, p.remote, "b", "b")
	var out strings.Builder
	p.opt.DryRun, p.opt.Plan = true, &out
	s, err := p.run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Uploaded != 1 || s.Downloaded != 1 || s.Converged {
		t.Errorf("got %+v, want the plan's counts", s)
	}
	if exists(p.local, "b") || exists(p.remote, "a") || exists(p.dir, "") {
		t.Error("dry run changed something")
	}
	if !strings.Contains(out.String(), "remote write a") || !strings.Contains(out.String(), "local  write b") {
		t.Errorf("plan output:\n%s", out.String())
	}
}

func TestRemoteSubfolder(t *testing.T) {
	p := newPair(t)
	p.opt.Remote = "sync/docs"
	write(t, p.local, "a", "a")
	s, err := p.run()
	if err != nil || !s.Converged {
		t.Fatalf("got %+v, %v", s, err)
	}
	if got := read(t, p.remote, "sync/docs/a"); got != "a" {
		t.Errorf("got %q, want the file in the remote subfolder", got)
	}
}

func TestIgnoreFile(t *testing.T) {
	p := newPair(t)
	write(t, p.remote, ".simplecloudignore", "*.log\nbuild/\n")
	write(t, p.local, "x.log", "local log")
	write(t, p.local, "build/out", "binary")
	write(t, p.local, "keep", "keep")
	write(t, p.local, ".x.swp", "vim swap")
	p.sync2()
	if exists(p.remote, "x.log") || exists(p.remote, "build") || exists(p.remote, ".x.swp") {
		t.Error("ignored files were uploaded")
	}
	if !exists(p.remote, "keep") || !exists(p.local, ".simplecloudignore") {
		t.Error("files that are not ignored were not synced")
	}
}

// sync2 runs once, requiring convergence but not equal trees (ignored
// files differ).
func (p *pair) sync2() {
	p.t.Helper()
	s, err := p.run()
	if err != nil || !s.Converged {
		p.t.Fatalf("got %+v, %v", s, err)
	}
}
