package wipe

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeystreamIsSeekable(t *testing.T) {
	ks, err := newKeystream()
	if err != nil {
		t.Fatal(err)
	}
	for _, lo := range []uint64{0, ^uint64(0)} { // the second crosses the 64-bit carry
		ks.nonce = [16]byte{}
		for i := 8; i < 16; i++ {
			ks.nonce[i] = byte(lo >> (8 * (15 - i)))
		}
		whole := make([]byte, 4096)
		ks.fill(whole, 0)
		part := make([]byte, 4096-48)
		ks.fill(part, 48)
		if !bytes.Equal(whole[48:], part) {
			t.Errorf("nonce low %x: keystream at offset 48 differs from the same bytes of a fill at 0", lo)
		}
	}
}

func TestGrid(t *testing.T) {
	g := newGrid(1536, 10000, 4096)
	var got [][2]int64
	for i := 0; i < g.n; i++ {
		lo, hi := g.piece(i)
		got = append(got, [2]int64{lo, hi})
	}
	want := [][2]int64{{1536, 4096}, {4096, 8192}, {8192, 10000}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("piece %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// noisyFile writes size random bytes to a new file and returns its path
// and contents.
func noisyFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// checkWiped checks b byte for byte: all zero, or for random mode not
// zero and not the old contents anywhere in a 4 KiB block.
func checkWiped(t *testing.T, mode Mode, got, old []byte) {
	t.Helper()
	if mode != Random {
		if i := bytes.IndexFunc(got, func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("%s: byte %d is %#x, want 0", mode, i, got[i])
		}
		return
	}
	for off := 0; off < len(got); off += 4096 {
		end := min(off+4096, len(got))
		if bytes.Equal(got[off:end], make([]byte, end-off)) || bytes.Equal(got[off:end], old[off:end]) {
			t.Fatalf("random: block at %d is zero or unchanged", off)
		}
	}
}

func TestWipeImageFileEveryMode(t *testing.T) {
	for _, mode := range []Mode{Zero, Random, Discard, ZeroOut} {
		t.Run(string(mode), func(t *testing.T) {
			size := 9<<20 + 1234 // an unaligned tail
			p, old := noisyFile(t, size)
			tg, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			var events []Event
			sum, err := Run(context.Background(), tg, Options{Mode: mode, Verify: true, ChunkSize: 1 << 20,
				Progress: func(e Event) { events = append(events, e) }})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Mode != mode || sum.Bytes != int64(size) || !sum.Verified || sum.Seconds <= 0 {
				t.Errorf("got summary %+v, want mode %s, %d bytes, verified", sum, mode, size)
			}
			if len(events) == 0 || events[len(events)-1].BytesDone != int64(size) {
				t.Errorf("got events %+v, want a last one with %d bytes done", events, size)
			}
			got, _ := os.ReadFile(p)
			if len(got) != size {
				t.Fatalf("file is %d bytes after the wipe, want %d", len(got), size)
			}
			checkWiped(t, mode, got, old)
		})
	}
}

func TestResumeAtOffset(t *testing.T) {
	p, old := noisyFile(t, 4<<20)
	tg, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	sum, err := Run(context.Background(), tg, Options{Mode: Random, Verify: true, Offset: 1<<20 + 512, ChunkSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes != 3<<20-512 {
		t.Errorf("got %d bytes wiped, want %d", sum.Bytes, 3<<20-512)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got[:1<<20+512], old[:1<<20+512]) {
		t.Errorf("bytes before the offset changed")
	}
	checkWiped(t, Random, got[1<<20+512:], old[1<<20+512:])
}

func TestCancelReportsHowFarItGot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 256<<20); err != nil {
		t.Fatal(err)
	}
	tg, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err := Run(ctx, tg, Options{Mode: Random, ChunkSize: 4096, Workers: 1, Interval: time.Millisecond,
		Progress: func(e Event) {
			if e.BytesDone > 0 {
				cancel()
			}
		}})
	var se *StopError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a StopError for a cancelled context", err)
	}
	if se.Resume <= 0 || se.Resume >= 256<<20 || se.Resume%4096 != 0 || sum.Bytes != se.Resume {
		t.Errorf("got resume offset %d and %d bytes, want one chunk boundary inside the file", se.Resume, sum.Bytes)
	}
	if !strings.Contains(err.Error(), "--offset") {
		t.Errorf("error %q does not say how to resume", err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	head := make([]byte, se.Resume)
	f.ReadAt(head, 0)
	if bytes.Contains(head, make([]byte, 4096)) {
		t.Errorf("a 4 KiB block below the resume offset is still zero")
	}
}

func TestBadInputTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.img")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.img"), "no such file"},
		{dir, "not a block device or regular file"},
		{"/dev/null", "not a block device or regular file"},
		{empty, "size is zero"},
	} {
		if _, err := Open(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): got %v, want an error saying %q", c.path, err, c.want)
		}
	}
	p, old := noisyFile(t, 1<<20)
	tg, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Mode: "shred"}, "unknown wipe mode"},
		{Options{Mode: Discard, Secure: true}, "secure discard needs"},
		{Options{Mode: Zero, Offset: 1 << 20}, "outside"},
		{Options{Mode: Zero, Offset: -512}, "outside"},
		{Options{Mode: Zero, Offset: 100}, "not a multiple"},
	} {
		if _, err := Run(context.Background(), tg, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v): got %v, want an error saying %q", c.o, err, c.want)
		}
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, old) {
		t.Errorf("a refused wipe changed the file")
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"zero", "random", "discard", "zeroout"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q): got %q, %v", s, m, err)
		}
	}
	if _, err := ParseMode("urandom"); err == nil {
		t.Errorf("ParseMode(urandom) succeeded")
	}
}

// TestDirectIOFallback makes the engine try O_DIRECT on a piece the kernel
// must refuse (a 100-byte tail): it has to fall back to buffered writes,
// say so in the log, and still wipe and verify everything.
func TestDirectIOFallback(t *testing.T) {
	p, _ := noisyFile(t, 8192+100)
	tg, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if !tg.Direct() {
		t.Skip("the filesystem under the test's temporary directory does not take O_DIRECT")
	}
	tg.Align = 1 // claim any alignment works
	var logged bytes.Buffer
	_, err = Run(context.Background(), tg, Options{Mode: Zero, Verify: true, ChunkSize: 4096, Workers: 1,
		Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "direct I/O refused") {
		t.Errorf("no fallback logged; log:\n%s", logged.String())
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, make([]byte, 8192+100)) {
		t.Errorf("the file is not all zero after the fallback")
	}
}
