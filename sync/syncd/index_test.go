package syncd

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
	"simplecloud/sync/scan"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestListIndex lists a tree three times: the second listing takes the
// hashes of files older than the racy window from the index the first one
// left in .simplecloud/index; after a same-size rewrite with the mtime set
// back, that file is hashed again and listed with its new hash.
func TestListIndex(t *testing.T) {
	var logs syncBuffer
	p := newPeerLog(t, false, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	p.file("d/a", []byte("aaaa"))
	p.file("b", []byte("bbbb"))
	for _, f := range []string{"d/a", "b"} {
		testutil.Eventually(t, 10*time.Second, func() error {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(p.dir, f), &st); err != nil {
				return err
			}
			if age := time.Since(time.Unix(0, st.Ctim.Nano())); age <= scan.DefaultRacyWindow {
				return fmt.Errorf("%s changed %v ago", f, age)
			}
			return nil
		})
	}
	hits := regexp.MustCompile(`msg=listed .* index_hits=(\d+)`)
	listed := func(want string) {
		t.Helper()
		p.list("")
		m := hits.FindAllStringSubmatch(logs.String(), -1)
		if len(m) == 0 || m[len(m)-1][1] != want {
			t.Errorf("got index hits %v, want %s in the last listing\n%s", m, want, logs.String())
		}
	}
	listed("0")
	if ents, _ := os.ReadDir(filepath.Join(p.dir, indexDir)); len(ents) != 1 {
		t.Fatalf("got %d files in %s, want 1 index", len(ents), indexDir)
	}
	listed("2")
	// The rewrite comes later than the hash attribute's write plus its
	// slack, as any change does that is not in the window the scan package
	// names: that window is the attribute cache's, and the index adds none.
	time.Sleep(50 * time.Millisecond)
	a := filepath.Join(p.dir, "d/a")
	var st unix.Stat_t
	if err := unix.Lstat(a, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, []byte("AAAA"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, a, []unix.Timespec{st.Atim, st.Mtim}, 0); err != nil {
		t.Fatal(err)
	}
	listed("1")
	for _, e := range p.list("") {
		if e.Path == "d/a" && e.Hash != hashOf([]byte("AAAA")) {
			t.Errorf("d/a listed with hash %x, want the new content's", e.Hash)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(p.dir, tmpDir)); len(ents) != 0 {
		t.Errorf("temporary files left in %s: %v", tmpDir, ents)
	}
}
