package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// syncSummary is `simplecloud sync --json`'s output.
type syncSummary struct {
	Uploaded, Downloaded, Conflicts int
	DeletedLocal                    int   `json:"deleted_local"`
	DeletedRemote                   int   `json:"deleted_remote"`
	BytesSent                       int64 `json:"bytes_sent"`
	BytesReceived                   int64 `json:"bytes_received"`
	Converged                       bool
}

// syncCLI runs `simplecloud sync --once --json LOCAL USER@127.0.0.1:PATH`
// through the real OpenSSH client, with its state in stateDir.
func (s *server) syncCLI(t *testing.T, u *testUser, local, path, stateDir string, extra ...string) (syncSummary, string, error) {
	t.Helper()
	rsh := "ssh " + strings.Join(s.sshArgs(u.key, "-p"), " ")
	args := append([]string{"sync", "--once", "--json", "-e", rsh, local, u.name + "@127.0.0.1:" + path}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+stateDir)
	out, err := cmd.Output()
	var sum syncSummary
	if len(out) > 0 {
		json.Unmarshal(out, &sum)
	}
	stderr := ""
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	return sum, string(out) + stderr, err
}

// listTree lists dir as sorted "path=content" entries, without .simplecloud.
func listTree(t *testing.T, dir string) string {
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
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		} else {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestSyncCLI: two clients of one user and direct edits on the server,
// through `simplecloud sync --once` over the real OpenSSH client.
func TestSyncCLI(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	one, two := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")
	st1, st2 := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(one, "docs"), 0o755)
	os.WriteFile(filepath.Join(one, "docs", "a.txt"), []byte("a from one"), 0o644)
	os.WriteFile(filepath.Join(one, "b.txt"), []byte("b from one"), 0o644)
	sum, out, err := s.syncCLI(t, u, one, "Sync", st1)
	if err != nil || sum.Uploaded != 2 || !sum.Converged {
		t.Fatalf("first sync: %+v %v\n%s", sum, err, out)
	}
	server := filepath.Join(root, u.name, "Sync")
	fi, err := os.Stat(filepath.Join(server, "docs", "a.txt"))
	if err != nil || int(fi.Sys().(*syscall.Stat_t).Uid) != u.uid {
		t.Fatalf("uploaded file not the user's: %v", err)
	}
	// The second client gets everything.
	if sum, out, err = s.syncCLI(t, u, two, "Sync", st2); err != nil || sum.Downloaded != 2 {
		t.Fatalf("second client: %+v %v\n%s", sum, err, out)
	}
	// A direct edit on the server, a new file on one, a delete on two.
	os.WriteFile(filepath.Join(server, "b.txt"), []byte("b edited on the server"), 0o644)
	os.WriteFile(filepath.Join(one, "c.txt"), []byte("c from one"), 0o644)
	os.Remove(filepath.Join(two, "docs", "a.txt"))
	for _, c := range []struct{ dir, st string }{{one, st1}, {two, st2}, {one, st1}} {
		if sum, out, err := s.syncCLI(t, u, c.dir, "Sync", c.st); err != nil || !sum.Converged {
			t.Fatalf("sync %s: %+v %v\n%s", c.dir, sum, err, out)
		}
	}
	want := "b.txt=b edited on the server c.txt=c from one docs"
	for _, d := range []string{one, two, server} {
		if got := listTree(t, d); got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	}
	// Both clients edit the same file: both versions survive everywhere.
	os.WriteFile(filepath.Join(one, "c.txt"), []byte("c edited on one"), 0o644)
	os.WriteFile(filepath.Join(two, "c.txt"), []byte("c edited on two"), 0o644)
	s.syncCLI(t, u, one, "Sync", st1)
	if sum, out, err := s.syncCLI(t, u, two, "Sync", st2); err != nil || sum.Conflicts != 1 {
		t.Fatalf("conflict: %+v %v\n%s", sum, err, out)
	}
	s.syncCLI(t, u, one, "Sync", st1)
	for _, d := range []string{one, two, server} {
		got := listTree(t, d)
		if !strings.Contains(got, "=c edited on one") || !strings.Contains(got, "=c edited on two") || strings.Count(got, "sync-conflict") != 1 {
			t.Errorf("%s after the conflict: %s", d, got)
		}
	}
	// An emptied folder (an unmounted disk) deletes nothing: exit 1, a
	// message, the server as it was.
	before := listTree(t, server)
	os.RemoveAll(two)
	os.Mkdir(two, 0o755)
	_, out, err = s.syncCLI(t, u, two, "Sync", st2)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, "empty") {
		t.Errorf("emptied folder: %v\n%s", err, out)
	}
	if got := listTree(t, server); got != before {
		t.Errorf("the server changed: %s", got)
	}
	// Deleting most files stops unless --force; what is deleted on the
	// server is kept as a version.
	for _, n := range []string{"f1", "f2", "f3", "f4"} {
		os.WriteFile(filepath.Join(one, n), []byte(n), 0o644)
	}
	if sum, out, err = s.syncCLI(t, u, one, "Sync", st1); err != nil || sum.Uploaded != 4 {
		t.Fatalf("four more files: %+v %v\n%s", sum, err, out)
	}
	for _, n := range []string{"f1", "f2", "f3", "f4"} {
		os.Remove(filepath.Join(one, n))
	}
	if _, out, err = s.syncCLI(t, u, one, "Sync", st1, "--max-delete", "30"); err == nil || !strings.Contains(out, "--max-delete") && !strings.Contains(out, "delete") {
		t.Errorf("deleting 4 of 7 files with --max-delete 30 ran:\n%s", out)
	}
	if got := listTree(t, server); !strings.Contains(got, "f4=f4") {
		t.Errorf("a refused run deleted: %s", got)
	}
	if sum, out, err = s.syncCLI(t, u, one, "Sync", st1, "--max-delete", "30", "--force"); err != nil || sum.DeletedRemote != 4 {
		t.Fatalf("forced: %+v %v\n%s", sum, err, out)
	}
	if vs, _ := filepath.Glob(filepath.Join(root, u.name, ".simplecloud/versions/Sync/f1~*")); len(vs) != 1 {
		t.Errorf("versions of f1 on the server: %v", vs)
	}
	// A bad command line is exit 64.
	cmd := exec.Command(binary(t), "sync", "--once", one, "no-colon")
	if err := cmd.Run(); err == nil || err.(*exec.ExitError).ExitCode() != 64 {
		t.Errorf("bad target: %v, want exit 64", err)
	}
}

// TestSyncDaemon: `simplecloud sync` without --once keeps running: a file
// a root process moves into the user's server folder (as a finished
// download would be) arrives on the client at once, a local file goes up,
// and SIGTERM ends it with exit status 0.
func TestSyncDaemon(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	local := filepath.Join(t.TempDir(), "local")
	rsh := "ssh " + strings.Join(s.sshArgs(u.key, "-p"), " ")
	cmd := exec.Command(binary(t), "sync", "--json", "-e", rsh, local, u.name+"@127.0.0.1:Sync")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("sync output:\n%s", out.String())
		}
	})
	server := filepath.Join(root, u.name, "Sync")
	testutil.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(out.String(), `"converged":true`) {
			return fmt.Errorf("no first run yet")
		}
		return nil
	})
	// A root process moves a finished download into the folder.
	dl := filepath.Join(t.TempDir(), "film.mkv")
	os.WriteFile(dl, []byte("a finished download"), 0o644)
	os.Chown(dl, u.uid, u.gid)
	moved := time.Now()
	if err := exec.Command("mv", dl, filepath.Join(server, "film.mkv")).Run(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		if b, _ := os.ReadFile(filepath.Join(local, "film.mkv")); string(b) != "a finished download" {
			return fmt.Errorf("not on the client yet")
		}
		return nil
	})
	t.Logf("server change on the client after %v", time.Since(moved).Round(time.Millisecond))
	// A local file goes up.
	os.WriteFile(filepath.Join(local, "notes.txt"), []byte("written on the client"), 0o644)
	testutil.Eventually(t, 10*time.Second, func() error {
		if b, _ := os.ReadFile(filepath.Join(server, "notes.txt")); string(b) != "written on the client" {
			return fmt.Errorf("not on the server yet")
		}
		return nil
	})
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGTERM")
	}
}

// TestSyncKill: kill -9 of the client, then of the server's connection
// child, in the middle of an upload; each rerun converges with nothing
// lost.
func TestSyncKill(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	local := filepath.Join(t.TempDir(), "local")
	os.Mkdir(local, 0o755)
	writeRandom(t, filepath.Join(local, "big"), 300<<20)
	os.WriteFile(filepath.Join(local, "small"), []byte("small"), 0o644)
	state := t.TempDir()
	tmpDir := filepath.Join(root, u.name, ".simplecloud", "tmp")
	// midUpload starts a sync and returns once the server holds part of
	// the upload.
	midUpload := func() *exec.Cmd {
		old, _ := filepath.Glob(filepath.Join(tmpDir, "put-*"))
		rsh := "ssh " + strings.Join(s.sshArgs(u.key, "-p"), " ")
		cmd := exec.Command(binary(t), "sync", "--once", "-e", rsh, local, u.name+"@127.0.0.1:Sync")
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			ents, _ := filepath.Glob(filepath.Join(tmpDir, "put-*"))
			for _, e := range ents {
				if fi, err := os.Stat(e); err == nil && fi.Size() > 10<<20 && !slices.Contains(old, e) {
					return nil
				}
			}
			return fmt.Errorf("no upload in progress")
		})
		return cmd
	}
	// The client killed.
	// sessionsGone waits until the server's connection children of the
	// killed run have noticed and ended (until then a rerun races them).
	sessionsGone := func() {
		testutil.Eventually(t, 30*time.Second, func() error {
			if out, err := exec.Command("pgrep", "-u", u.name, "-f", "serve-conn").Output(); err == nil {
				return fmt.Errorf("connection children still running: %s", out)
			}
			return nil
		})
	}
	cmd := midUpload()
	cmd.Process.Kill()
	cmd.Wait()
	sessionsGone()
	sum, out, err := s.syncCLI(t, u, local, "Sync", state)
	if err != nil || !sum.Converged {
		t.Fatalf("after killing the client: %+v %v\n%s", sum, err, out)
	}
	// The upload resumed: what the server had synced was not sent again.
	if sum.BytesSent > 300<<20-8<<20 {
		t.Errorf("the rerun sent %d bytes of a 300 MiB file the server held part of", sum.BytesSent)
	}
	sameFile(t, filepath.Join(local, "big"), filepath.Join(root, u.name, "Sync", "big"))
	// The server's connection child killed.
	writeRandom(t, filepath.Join(local, "big"), 300<<20)
	cmd = midUpload()
	killed, _ := exec.Command("pkill", "-KILL", "-u", u.name, "-f", "serve-conn").CombinedOutput()
	if err := cmd.Wait(); err == nil {
		t.Errorf("the client exited 0 although the server died: %s", killed)
	}
	if sum, out, err := s.syncCLI(t, u, local, "Sync", state); err != nil || !sum.Converged {
		t.Fatalf("after killing the server: %+v %v\n%s", sum, err, out)
	}
	sameFile(t, filepath.Join(local, "big"), filepath.Join(root, u.name, "Sync", "big"))
	// The first big file is kept as a version; nothing else is lost.
	if vs, _ := filepath.Glob(filepath.Join(root, u.name, ".simplecloud/versions/Sync/big~*")); len(vs) != 1 {
		t.Errorf("versions of big: %v", vs)
	}
}
