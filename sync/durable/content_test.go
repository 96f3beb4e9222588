package durable

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

func TestParseDirty(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"both", "MemTotal:       24000000 kB\nDirty:              1204 kB\nWriteback:            12 kB\nWritebackTmp:          0 kB\n", (1204 + 12) << 10, false},
		{"zero", "Dirty: 0 kB\nWriteback: 0 kB\n", 0, false},
		{"no writeback", "Dirty: 10 kB\nWritebackTmp: 5 kB\n", 0, true},
		{"empty", "", 0, true},
		{"bad number", "Dirty: x kB\nWriteback: 0 kB\n", 0, true},
		{"negative", "Dirty: -4 kB\nWriteback: 0 kB\n", 0, true},
		{"no unit", "Dirty: 4\nWriteback: 0 kB\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDirty([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	// This machine's own.
	if _, err := machineDirty(); err != nil {
		t.Errorf("machineDirty: %v", err)
	}
}

func TestSyncfsReportsErrors(t *testing.T) {
	for release, want := range map[string]bool{
		"6.12.48+deb13-amd64": true,
		"5.8.0":               true,
		"5.10":                true,
		"5.7.19":              false,
		"4.19.0-21-amd64":     false,
		"10.0-rc1":            true,
		"":                    false,
		"six.one":             false,
	} {
		if got := syncfsReportsErrors(release); got != want {
			t.Errorf("syncfsReportsErrors(%q) = %v, want %v", release, got, want)
		}
	}
}

// groupRig counts syncfs and fsync calls over a real directory.
type groupRig struct {
	c       *Content
	files   []*os.File
	syncfss atomic.Int32
	fsyncs  atomic.Int32
	dirty   atomic.Int64
	fail    atomic.Bool // syncfs fails with EIO
}

func newGroupRig(t *testing.T, n int) *groupRig {
	t.Helper()
	if !syncfsReportsErrors(kernelRelease()) {
		t.Skip("this kernel's syncfs reports no errors: no groups")
	}
	g := &groupRig{}
	oldFS, oldF := syncfs, fsyncFile
	t.Cleanup(func() { syncfs, fsyncFile = oldFS, oldF })
	syncfs = func(fd int) error {
		g.syncfss.Add(1)
		g.allWaiting()
		if g.fail.Load() {
			return unix.EIO
		}
		return oldFS(fd)
	}
	fsyncFile = func(f *os.File) error {
		g.fsyncs.Add(1)
		return oldF(f)
	}
	dir := t.TempDir()
	fd, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !groupable(fd) {
		fd.Close()
		t.Skip("the test's directory is on a file system without group syncs")
	}
	g.c = newContent(fd, func() (int64, error) { return g.dirty.Load(), nil }, slog.New(slog.DiscardHandler))
	t.Cleanup(g.c.Close)
	for i := range n {
		f, err := os.Create(filepath.Join(dir, string(rune('a'+i%26))+string(rune('a'+i/26))))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("content")
		t.Cleanup(func() { f.Close() })
		g.files = append(g.files, f)
	}
	return g
}

// allWaiting returns once every file's sync has been asked for (or after
// 5 s), so that the test does not depend on how fast the goroutines start.
func (g *groupRig) allWaiting() {
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(time.Millisecond) {
		g.c.g.mu.Lock()
		asked := g.c.g.requested
		g.c.g.mu.Unlock()
		if asked >= uint64(len(g.files)) {
			return
		}
	}
}

// syncAll syncs every file at once and fails the test on an error.
func (g *groupRig) syncAll(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(g.files))
	for _, f := range g.files {
		wg.Go(func() { errs <- g.c.Sync(f) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestContentSyncsGroup: with little dirty, concurrent syncs share
// syncfs calls and no file is fsynced.
func TestContentSyncsGroup(t *testing.T) {
	g := newGroupRig(t, 32)
	g.syncAll(t)
	// The first syncfs waits until all 32 have asked: it covers those who
	// asked before it started, and one more covers the rest.
	if n, m := g.syncfss.Load(), g.fsyncs.Load(); n < 1 || n > 2 || m != 0 {
		t.Errorf("32 files at once: %d syncfs, %d fsync; want 1 or 2 syncfs and no fsync", n, m)
	}
}

// TestContentSyncsDirty: with much dirty on the machine (or no reading of
// it), each file is fsynced on its own and no syncfs runs.
func TestContentSyncsDirty(t *testing.T) {
	g := newGroupRig(t, 8)
	g.dirty.Store(groupDirtyMax + 1)
	g.syncAll(t)
	if n, m := g.syncfss.Load(), g.fsyncs.Load(); n != 0 || m != 8 {
		t.Errorf("with %d bytes dirty: %d syncfs, %d fsync; want 0 and 8", groupDirtyMax+1, n, m)
	}
	g.c.dirty = func() (int64, error) { return 0, errors.New("no /proc") }
	g.fsyncs.Store(0)
	g.syncAll(t)
	if n, m := g.syncfss.Load(), g.fsyncs.Load(); n != 0 || m != 8 {
		t.Errorf("without a reading: %d syncfs, %d fsync; want 0 and 8", n, m)
	}
}

// TestContentDirtyStands: a reading of little dirty stands for
// dirtyFresh, over every group in that time; after it, the next group
// reads again, and much dirty then means an fsync of each file.
func TestContentDirtyStands(t *testing.T) {
	g := newGroupRig(t, 8)
	var readings atomic.Int32
	g.c.dirty = func() (int64, error) { readings.Add(1); return g.dirty.Load(), nil }
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	g.c.now = func() time.Time { return now }
	for range 3 {
		g.syncAll(t)
	}
	if r, n, m := readings.Load(), g.syncfss.Load(), g.fsyncs.Load(); r != 1 || n < 3 || m != 0 {
		t.Errorf("three rounds within dirtyFresh: %d readings, %d syncfs, %d fsync; want 1, at least 3, 0", r, n, m)
	}
	g.dirty.Store(groupDirtyMax + 1)
	now = now.Add(dirtyFresh)
	g.syncfss.Store(0)
	g.syncAll(t)
	if r, n, m := readings.Load(), g.syncfss.Load(), g.fsyncs.Load(); r < 2 || n != 0 || m != 8 {
		t.Errorf("after dirtyFresh, much dirty: %d readings, %d syncfs, %d fsync; want at least 2, 0, 8", r, n, m)
	}
}

// TestContentSyncsError: a failed syncfs sends its group to their own
// fsyncs, and every later file too.
func TestContentSyncsError(t *testing.T) {
	g := newGroupRig(t, 16)
	g.fail.Store(true)
	g.syncAll(t)
	if n, m := g.syncfss.Load(), g.fsyncs.Load(); n != 1 || m != 16 {
		t.Errorf("syncfs failing: %d syncfs, %d fsync; want 1 and 16", n, m)
	}
	g.fail.Store(false)
	g.syncAll(t)
	if n, m := g.syncfss.Load(), g.fsyncs.Load(); n != 1 || m != 32 {
		t.Errorf("after a failed syncfs: %d syncfs, %d fsync in all; want 1 and 32", n, m)
	}
}

// TestContentSyncsNone: without a descriptor every file is fsynced.
func TestContentSyncsNone(t *testing.T) {
	g := newGroupRig(t, 4)
	g.c = newContent(nil, func() (int64, error) { return 0, nil }, slog.New(slog.DiscardHandler))
	g.syncAll(t)
	if n, m := g.syncfss.Load(), g.fsyncs.Load(); n != 0 || m != 4 {
		t.Errorf("no descriptor: %d syncfs, %d fsync; want 0 and 4", n, m)
	}
}

// TestContentFileSystems: a directory on tmpfs (whose syncfs is not known
// to do what an fsync does) gets no groups; one on the test's own file
// system (through ForRoot) gets them if it is one of groupFS.
func TestContentFileSystems(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	shm, err := os.Open("/dev/shm")
	if err != nil {
		t.Fatal(err)
	}
	c := NewContent(shm, slog.New(slog.DiscardHandler))
	defer c.Close()
	if c.fd != nil {
		t.Error("group syncs on tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	want := slices.Contains(groupFS, st.Type) && syncfsReportsErrors(kernelRelease())
	// ForRoot opens the root's directory itself, and goes through NewContent.
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c = ForRoot(root, slog.New(slog.DiscardHandler))
	defer c.Close()
	if got := c.fd != nil; got != want {
		t.Errorf("ForRoot on file system type %#x: group syncs %v, want %v", st.Type, got, want)
	}
}
