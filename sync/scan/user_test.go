package scan

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// helperEnv names the tree TestUserHelper scans when the test binary runs
// as the helper of TestAsUser.
const helperEnv = "SCAN_TEST_HELPER_ROOT"

// userResult is what the helper prints: the entries and the counts.
type userResult struct {
	Entries   map[string]string // path -> kind, "+hash" when known, "+err" when unreadable
	Summary   Summary
	Unscanned []string
}

// TestUserHelper is not a test: it scans $SCAN_TEST_HELPER_ROOT and prints
// a userResult, as the process TestAsUser starts with the user's ids.
func TestUserHelper(t *testing.T) {
	root := os.Getenv(helperEnv)
	if root == "" {
		t.Skip("the helper of TestAsUser")
	}
	s := newScanner(t, root, Options{RacyWindow: testRacy})
	res := userResult{Entries: map[string]string{}}
	sum, err := s.Walk("", func(e *Entry) error {
		v := e.Kind.String()
		if e.HasHash() {
			v += "+hash"
		}
		if e.Err != nil {
			v += "+err"
		}
		res.Entries[e.Path] = v
		return nil
	})
	must(t, err)
	for _, u := range sum.Unscanned {
		res.Unscanned = append(res.Unscanned, u.Path)
	}
	sum.Unscanned = nil
	res.Summary = sum
	must(t, json.NewEncoder(os.Stdout).Encode(res))
}

// TestAsUser scans a tree as a user made with useradd, who owns it, as the
// server's connection child does: the cache works on the user's files, a
// read-only file is hashed every time without turning the cache off, an
// unreadable directory is Unscanned and the walk goes on, a file without
// read permission is reported with Err.
func TestAsUser(t *testing.T) {
	testutil.NeedRoot(t, "useradd", "userdel")
	uid, gid, home := newUser(t)
	dir := filepath.Join(home, "tree")
	tree(t, dir, map[string]string{
		"a": "first", "locked/inside": "x", "noread": "secret", "ro": "read only", "z": "last", "etc": "->/etc",
	})
	must(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))
	must(t, os.Chmod(filepath.Join(dir, "locked"), 0))
	must(t, os.Chmod(filepath.Join(dir, "noread"), 0o200))
	must(t, os.Chmod(filepath.Join(dir, "ro"), 0o444))
	aged(t, filepath.Join(dir, "ro"), testRacy)
	bin := userBinary(t)
	run := func() userResult {
		t.Helper()
		cmd := exec.Command(bin, "-test.run=^TestUserHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper as uid %d: %v: %s", uid, err, out)
		}
		var res userResult
		line, _, _ := strings.Cut(string(out), "\n")
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("helper output %q: %v", out, err)
		}
		return res
	}
	want := map[string]string{
		"a": "file+hash", "locked": "dir", "noread": "file+err", "ro": "file+hash", "z": "file+hash", "etc": "symlink",
	}
	first := run()
	if fmt.Sprint(first.Entries) != fmt.Sprint(want) || fmt.Sprint(first.Unscanned) != "[locked]" {
		t.Errorf("first scan: got %v, unscanned %v; want %v, unscanned [locked]", first.Entries, first.Unscanned, want)
	}
	if s := first.Summary; s.Hashed != 3 || s.CacheStored != 2 || s.Unreadable != 1 {
		t.Errorf("first scan: got %+v; want 3 hashed, 2 stored (not the read-only file), 1 unreadable", s)
	}
	second := run()
	if s := second.Summary; s.Hashed != 1 || s.CacheHits != 2 || fmt.Sprint(second.Entries) != fmt.Sprint(want) {
		t.Errorf("second scan: got %v, %+v; want the same entries, the read-only file hashed, 2 hits", second.Entries, s)
	}
}

// newUser makes a user with a home directory, removed at the end of the
// test; useradd is retried while another process holds the lock on
// /etc/passwd.
func newUser(t *testing.T) (uid, gid int, home string) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "scs-" + hex.EncodeToString(b)
	testutil.Eventually(t, 30*time.Second, func() error {
		out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "cannot lock") {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
		if err != nil {
			return fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
		return nil
	})
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil {
			t.Logf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	must(t, err)
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.HomeDir
}

// userBinary copies the test binary where any user may run it (go test
// builds it in a directory only root can enter).
func userBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "scan-test-bin")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	src, err := os.Open(os.Args[0])
	must(t, err)
	defer src.Close()
	p := filepath.Join(dir, "scan.test")
	dst, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o755)
	must(t, err)
	_, err = io.Copy(dst, src)
	must(t, err)
	must(t, dst.Close())
	return p
}
