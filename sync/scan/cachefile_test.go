package scan

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// testRacy is the racy window of these tests, short so that they wait
// little; aged waits until files are older than it.
const testRacy = 30 * time.Millisecond

// aged waits until p's last change (ctime) lies more than d in the past.
func aged(t *testing.T, p string, d time.Duration) {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	testutil.Eventually(t, 10*time.Second, func() error {
		if age := time.Since(time.Unix(0, st.Ctim.Nano())); age <= d {
			return fmt.Errorf("%s changed %v ago, want more than %v", p, age, d)
		}
		return nil
	})
}

// scanOne stats p with s and returns the entry and the counts.
func scanOne(t *testing.T, s *Scanner, p string) (Entry, Summary) {
	t.Helper()
	e, ok, err := s.Stat(p, false)
	if err != nil || !ok {
		t.Fatalf("Stat(%s): got ok=%v, %v", p, ok, err)
	}
	return e, s.Summary()
}

type renamed struct {
	sha
	name string
}

func (r renamed) Name() string { return r.name }

// TestCacheHitsAndInvalidations stores a hash, hits it, and checks that
// each kind of change misses: another hasher, a size change, and a
// same-size rewrite of the same inode with the mtime set back to the exact
// nanosecond (as touch -d would), which only the ctime check catches.
func TestCacheHitsAndInvalidations(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	must(t, os.WriteFile(f, []byte("aaaa"), 0o644))
	aged(t, f, testRacy)
	s := newScanner(t, dir, Options{RacyWindow: testRacy})
	step := func(name string, wantContent string, wantHashed, wantHits, wantStored int) {
		t.Helper()
		e, sum := scanOne(t, s, "f")
		if e.Hash != sha256.Sum256([]byte(wantContent)) {
			t.Errorf("%s: got hash %x, want the hash of %q", name, e.Hash, wantContent)
		}
		if sum.Hashed != wantHashed || sum.CacheHits != wantHits || sum.CacheStored != wantStored {
			t.Errorf("%s: got hashed %d, hits %d, stored %d; want %d, %d, %d", name,
				sum.Hashed, sum.CacheHits, sum.CacheStored, wantHashed, wantHits, wantStored)
		}
	}
	step("cold", "aaaa", 1, 0, 1)
	step("warm", "aaaa", 0, 1, 0)
	if e, ok, err := s.Stat("f", true); err != nil || !ok || s.Summary().Hashed != 1 || e.Hash != sha256.Sum256([]byte("aaaa")) {
		t.Errorf("Stat fresh: got hashed %d, %v; want the file read again", s.Summary().Hashed, err)
	}
	s.opt.Hasher = renamed{name: "sha256-v2"}
	step("another hasher", "aaaa", 1, 0, 1)
	step("another hasher, warm", "aaaa", 0, 1, 0)

	// The rewrite: same inode, same size, mtime set back. It comes later
	// than the record's write time plus the slack and a clock tick, as any
	// change does that is not inside the window the package doc names.
	var before unix.Stat_t
	must(t, unix.Lstat(f, &before))
	aged(t, f, 50*time.Millisecond)
	w, err := os.OpenFile(f, os.O_WRONLY, 0)
	must(t, err)
	_, err = w.WriteAt([]byte("bbbb"), 0)
	must(t, err)
	must(t, w.Close())
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, f, []unix.Timespec{before.Atim, before.Mtim}, 0))
	var after unix.Stat_t
	must(t, unix.Lstat(f, &after))
	if after.Ino != before.Ino || after.Size != before.Size || after.Mtim != before.Mtim {
		t.Fatalf("the rewrite changed inode, size or mtime: %+v, want as %+v", after, before)
	}
	// Racy now (changed just before): hashed, not stored.
	step("same size, mtime set back", "bbbb", 1, 0, 0)
	aged(t, f, testRacy)
	step("same size, mtime set back, aged", "bbbb", 1, 0, 1)
	step("same size, mtime set back, warm", "bbbb", 0, 1, 0)

	a, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = a.WriteString("c")
	must(t, err)
	must(t, a.Close())
	step("appended (racy)", "bbbbc", 1, 0, 0)
}

// growing is a hasher that appends to the file while it reads it, as a
// writer would.
type growing struct {
	sha
	path string
}

func (g growing) Hash(f *os.File) ([32]byte, error) {
	w, err := os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return [32]byte{}, err
	}
	defer w.Close()
	if _, err := w.WriteString("more"); err != nil {
		return [32]byte{}, err
	}
	return g.sha.Hash(f)
}

func TestUnstable(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	must(t, os.WriteFile(f, []byte("start"), 0o644))
	aged(t, f, testRacy)
	s := newScanner(t, dir, Options{RacyWindow: testRacy})
	s.opt.Hasher = growing{path: f}
	e, sum := scanOne(t, s, "f")
	if !e.Unstable || e.HasHash() || sum.Unstable != 1 || sum.CacheStored != 0 {
		t.Errorf("file written while hashed: got unstable=%v, hash known=%v, %+v; want unstable, nothing stored", e.Unstable, e.HasHash(), sum)
	}
	if _, err := unix.Getxattr(f, XattrName, make([]byte, 128)); !errors.Is(err, unix.ENODATA) {
		t.Errorf("attribute of the unstable file: got %v, want ENODATA", err)
	}
}

// TestNoXattr scans a ramfs, which has no user extended attributes: every
// file is hashed, the cache turns off after the first refusal, with one
// log line, and later files and scans make no attribute calls (one worker,
// so that the count is exact: each worker running at that moment may try
// once).
func TestNoXattr(t *testing.T) {
	testutil.NeedRoot(t)
	dir := filepath.Join(t.TempDir(), "ramfs")
	must(t, os.Mkdir(dir, 0o755))
	must(t, unix.Mount("none", dir, "ramfs", 0, ""))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	for i := range 20 {
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), []byte{byte(i)}, 0o644))
	}
	aged(t, filepath.Join(dir, "f19"), testRacy)
	var logged bytes.Buffer
	s := newScanner(t, dir, Options{RacyWindow: testRacy, Workers: 1, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	for round := range 2 {
		got, sum := walk(t, s, "")
		if len(got) != 20 || sum.Hashed != 20 || sum.CacheStored != 0 || sum.CacheHits != 0 {
			t.Errorf("round %d: got %d entries, %+v; want 20 hashed, none cached", round, len(got), sum)
		}
		for _, e := range got {
			if !e.HasHash() {
				t.Errorf("round %d: %s has no hash", round, e.Path)
			}
		}
	}
	calls := 0
	for _, w := range s.workers {
		calls += w.xattrs
	}
	if calls != 1 || bytes.Count(logged.Bytes(), []byte("\n")) != 1 {
		t.Errorf("got %d attribute calls and log %q; want 1 call and one line", calls, logged.String())
	}
}

// TestHashBytesCounted checks HashedBytes on a file larger than a read.
func TestHashBytesCounted(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("x"), 1<<20+3), 0o644))
	_, sum := walk(t, newScanner(t, dir, Options{NoCache: true}), "")
	if sum.HashedBytes != 1<<20+3 || sum.CacheStored != 0 {
		t.Errorf("got %d bytes hashed, %d stored; want %d and none (NoCache)", sum.HashedBytes, sum.CacheStored, 1<<20+3)
	}
	if _, err := unix.Getxattr(filepath.Join(dir, "big"), XattrName, nil); !errors.Is(err, unix.ENODATA) {
		t.Errorf("NoCache wrote an attribute: %v", err)
	}
}
