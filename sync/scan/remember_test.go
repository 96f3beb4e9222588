package scan

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// TestRemember: a hash remembered for a just-written file with an old
// mtime is what the next scan reports, without reading the file; a file
// with a recent mtime gets no record; a write after the record makes the
// scan read the file again.
func TestRemember(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	fake := [32]byte{1, 2, 3}
	write := func(name string, mtime time.Time) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		must(t, err)
		t.Cleanup(func() { f.Close() })
		_, err = f.WriteString("content of " + name)
		must(t, err)
		must(t, os.Chtimes(f.Name(), mtime, mtime))
		return f
	}
	oldF, newF := write("old", old), write("new", time.Now())
	if !Remember(oldF, sha{}.Name(), fake, time.Second) {
		t.Fatal("Remember(old): got false, want a record stored")
	}
	if Remember(newF, sha{}.Name(), fake, time.Second) {
		t.Error("Remember(new): got true, want no record for a file changed within the window")
	}
	s := newScanner(t, dir, Options{RacyWindow: testRacy})
	e, sum := scanOne(t, s, "old")
	if e.Hash != fake || sum.Hashed != 0 || sum.CacheHits != 1 {
		t.Errorf("scan after Remember: got hash %x, %d hashed, %d hits; want the remembered hash, 0 hashed, 1 hit", e.Hash[:4], sum.Hashed, sum.CacheHits)
	}
	// A change within ctimeSlack of the record goes unseen (the package
	// doc names this window): write after it.
	stored := time.Now()
	testutil.Eventually(t, time.Second, func() error {
		if time.Since(stored) <= 2*ctimeSlack {
			return fmt.Errorf("within the slack")
		}
		return nil
	})
	_, err := oldF.WriteAt([]byte("X"), 0)
	must(t, err)
	must(t, os.Chtimes(oldF.Name(), old, old)) // even with the mtime put back
	e, sum = scanOne(t, s, "old")
	if e.Hash == fake || sum.Hashed != 1 {
		t.Errorf("scan after a write: got hash %x, %d hashed; want the file read again", e.Hash[:4], sum.Hashed)
	}
}

// TestRecord: a hash recorded for a file read whole after an fstat is
// cached only if the file did not change since that fstat and was not
// changed within the window before it.
func TestRecord(t *testing.T) {
	dir := t.TempDir()
	fake := [32]byte{4, 5, 6}
	open := func(name string) (*os.File, unix.Stat_t) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o644)
		must(t, err)
		t.Cleanup(func() { f.Close() })
		_, err = f.WriteString("content of " + name)
		must(t, err)
		var st unix.Stat_t
		must(t, unix.Fstat(int(f.Fd()), &st))
		return f, st
	}
	kept, keptSt := open("kept")
	changed, changedSt := open("changed")
	recent, recentSt := open("recent")
	// The window passes for the first two: their last change is then old
	// when the "read" starts.
	time.Sleep(3 * testRacy)
	start := time.Now().UnixNano()
	// Written while it was read, with its mtime set back: only the ctime
	// shows it.
	_, err := changed.WriteAt([]byte("X"), 0)
	must(t, err)
	mt := time.Unix(0, changedSt.Mtim.Nano())
	must(t, os.Chtimes(changed.Name(), mt, mt))
	if !Record(kept, sha{}.Name(), fake, &keptSt, start, testRacy) {
		t.Fatal("Record(kept): got false, want a record stored")
	}
	if Record(changed, sha{}.Name(), fake, &changedSt, start, testRacy) {
		t.Error("Record(changed): got true, want no record for a file changed while read")
	}
	if Record(recent, sha{}.Name(), fake, &recentSt, recentSt.Ctim.Nano(), testRacy) {
		t.Error("Record(recent): got true, want no record for a file changed just before it was read")
	}
	s := newScanner(t, dir, Options{RacyWindow: testRacy})
	for name, want := range map[string]bool{"kept": true, "changed": false, "recent": false} {
		e, sum := scanOne(t, s, name)
		if got := e.Hash == fake && sum.CacheHits == 1; got != want {
			t.Errorf("scan of %s after Record: got the recorded hash %v (%d hits, %d hashed), want %v", name, got, sum.CacheHits, sum.Hashed, want)
		}
	}
}

// TestRecordInInode: a record takes no block of its own where the file
// system keeps small attributes in the inode (ext4 with 256-byte inodes,
// as mkfs makes them), and storing one removes a version 1 record, which
// took a block.
func TestRecordInInode(t *testing.T) {
	dir := t.TempDir()
	blocks := func(f *os.File) int64 {
		var st unix.Stat_t
		must(t, unix.Fstat(int(f.Fd()), &st))
		return st.Blocks
	}
	probe, err := os.Create(filepath.Join(dir, "probe"))
	must(t, err)
	defer probe.Close()
	if err := unix.Fsetxattr(int(probe.Fd()), "user.x", []byte("x"), 0); err != nil {
		t.Skipf("no user attributes here: %v", err)
	}
	if blocks(probe) != 0 {
		t.Skip("this file system keeps no attribute in the inode")
	}
	f, err := os.Create(filepath.Join(dir, "f"))
	must(t, err)
	defer f.Close()
	// A version 1 record: 98 bytes, which take a block.
	must(t, unix.Fsetxattr(int(f.Fd()), oldXattrName, make([]byte, 98), 0))
	if blocks(f) == 0 {
		t.Skip("this file system keeps 98 bytes of attributes in the inode: nothing to compare")
	}
	var st unix.Stat_t
	must(t, unix.Fstat(int(f.Fd()), &st))
	time.Sleep(3 * testRacy)
	if !Record(f, sha{}.Name(), [32]byte{7}, &st, time.Now().UnixNano(), testRacy) {
		t.Fatal("Record: got false, want a record stored")
	}
	if _, err := unix.Fgetxattr(int(f.Fd()), oldXattrName, nil); err != unix.ENODATA {
		t.Errorf("the version 1 record is still there (%v)", err)
	}
	if n := blocks(f); n != 0 {
		t.Errorf("the file takes %d blocks with its record, want none", n)
	}
}
