//go:build bench

package scan

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"simplecloud/internal/testutil"
	"simplecloud/sync/rootfs"
)

// benchTree makes files small files (1 byte to 4 KiB) in directories of
// perDir files below dir.
func benchTree(t *testing.T, dir string, files, perDir int) {
	t.Helper()
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for i := range files {
		d := filepath.Join(dir, fmt.Sprintf("d%04d", i/perDir))
		if i%perDir == 0 {
			must(t, os.Mkdir(d, 0o755))
		}
		buf[0] = byte(i)
		must(t, os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d", i)), buf[:1+i*37%4096], 0o644))
	}
}

// timeCmd runs a command and returns its wall time.
func timeCmd(t *testing.T, name string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil && len(out) > 0 {
		t.Logf("%s: %v: %.200s", name, err, out)
	}
	return time.Since(start)
}

// scanTimed walks dir once and returns the time, the summary and the peak
// growth of the live heap seen during the walk (sampled every 10,000
// entries, with a collection each, which the time includes).
func scanTimed(t *testing.T, dir string, opt Options) (time.Duration, Summary, uint64) {
	t.Helper()
	s := newScanner(t, dir, opt)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	n := 0
	start := time.Now()
	sum, err := s.Walk("", func(*Entry) error {
		if n++; n%10000 == 0 {
			runtime.GC() // the live heap, not garbage
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	d := time.Since(start)
	must(t, err)
	return d, sum, peak - base
}

// TestBenchScan times a scan of 100,000 small files with a cold hash cache
// (every file read and hashed, the hash stored) and a warm one (stat and
// one attribute read per file), beside find -printf and ls -lR (the floor:
// a listing with stats) and rsync -a between two identical copies (what a
// re-sync with nothing changed costs rsync: both sides scanned). All with
// the page cache warm. It also prints the scanner's peak heap growth per
// file, in a tree and in one flat directory of 100,000 files.
func TestBenchScan(t *testing.T) {
	testutil.NeedRoot(t, "find", "ls")
	const files = 100_000
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	must(t, os.Mkdir(src, 0o755))
	start := time.Now()
	benchTree(t, src, files, 100)
	t.Logf("made %d files in %v", files, time.Since(start))
	// The files must be older than the racy window to be cached.
	testutil.Eventually(t, time.Minute, func() error {
		if d := time.Since(start); d < 3*time.Second {
			return fmt.Errorf("files %v old", d)
		}
		return nil
	})
	find := timeCmd(t, "find", src, "-printf", "%p %s %T@ %m\n")
	ls := timeCmd(t, "ls", "-lR", src)
	cold, coldSum, _ := scanTimed(t, src, Options{Hasher: sha{}})
	warm, warmSum, heap := scanTimed(t, src, Options{Hasher: sha{}})
	nocache, _, _ := scanTimed(t, src, Options{Hasher: sha{}, NoCache: true})
	if coldSum.Files != files || coldSum.CacheStored != files || warmSum.CacheHits != files {
		t.Errorf("cold %+v, warm %+v: want %d files stored, then hit", coldSum, warmSum, files)
	}
	t.Logf("%-44s %10s %12s", "100,000 files (1 B-4 KiB), 1,000 dirs", "time", "per file")
	row := func(name string, d time.Duration) {
		t.Logf("%-44s %10v %10.2fµs", name, d.Round(time.Millisecond), float64(d.Microseconds())/files)
	}
	row("find -printf (floor)", find)
	row("ls -lR", ls)
	row("scan, cold cache (read, sha256, store)", cold)
	row("scan, warm cache", warm)
	row("scan, no cache (read, sha256)", nocache)
	if _, err := exec.LookPath("rsync"); err == nil {
		dst := filepath.Join(dir, "dst")
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v: %s", err, out)
		}
		timeCmd(t, "rsync", "-a", src+"/", dst+"/") // settle
		row("rsync -a, nothing changed (local)", timeCmd(t, "rsync", "-a", src+"/", dst+"/"))
		row("rsync -an --checksum, nothing changed", timeCmd(t, "rsync", "-an", "--checksum", src+"/", dst+"/"))
	} else {
		t.Log("rsync is not installed: no reference row")
	}
	t.Logf("scanner heap growth, tree: %d bytes (%.1f per file)", heap, float64(heap)/files)
	flat := filepath.Join(dir, "flat")
	must(t, os.Mkdir(flat, 0o755))
	benchTree(t, flat, files, files)
	_, _, heap = scanTimed(t, flat, Options{})
	t.Logf("scanner heap growth, one directory of %d files: %d bytes (%.1f per file)", files, heap, float64(heap)/files)
}

// BenchmarkWarmScan walks 20,000 files with a warm hash cache (for
// profiling: go test -tags bench -run - -bench WarmScan -cpuprofile).
func BenchmarkWarmScan(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, 100)
	for i := range 20000 {
		d := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	r, err := rootfs.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	s := New(r, Options{Hasher: sha{}, RacyWindow: time.Nanosecond, Workers: benchWorkers()})
	if _, err := s.Walk("", func(*Entry) error { return nil }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		sum, err := s.Walk("", func(*Entry) error { return nil })
		if err != nil || sum.CacheHits != 20000 {
			b.Fatalf("got %+v, %v; want 20000 hits", sum, err)
		}
	}
}

// benchWorkers reads SCAN_WORKERS (0: the default).
func benchWorkers() int {
	n, _ := strconv.Atoi(os.Getenv("SCAN_WORKERS"))
	return n
}
