package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"simplecloud/sync/core"
)

// bigTree returns a tree like a home directory's: n entries in
// directories of 20, names of 10-20 bytes, a symlink every 50.
func bigTree(t testing.TB, n int) core.Tree {
	var b core.Builder
	b.Grow(n)
	dirs, count := 0, 0
	for i := 0; count < n; i++ {
		count++
		d := fmt.Sprintf("projects/dir-%04d", dirs)
		if i%20 == 0 {
			if dirs == 0 {
				b.Add("projects", core.Entry{Kind: core.Dir, Mode: 0o755, MTime: 1_700_000_000_000_000_000})
			}
			dirs++
			d = fmt.Sprintf("projects/dir-%04d", dirs)
			b.Add(d, core.Entry{Kind: core.Dir, Mode: 0o755, MTime: 1_700_000_000_000_000_000 + int64(i)})
			continue
		}
		p := fmt.Sprintf("%s/file-%06d.txt", d, i)
		if i%50 == 0 {
			b.Add(p, core.Entry{Kind: core.Symlink, Target: "../target", MTime: 1_700_000_000_000_000_000})
			continue
		}
		e := core.Entry{Kind: core.File, Mode: 0o644, Size: int64(i * 37 % 100000), MTime: 1_700_000_000_000_000_000 + int64(i)*1_000_003}
		e.Hash[0], e.Hash[1], e.Hash[31] = byte(i), byte(i>>8), byte(i>>16)
		b.Add(p, e)
	}
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k := StateKey{Local: "/home/a/docs", Server: "a@h", Remote: "docs"}
	tr := bigTree(t, 1000)
	st := State{Key: k, FS: FSID{Fsid: 1 << 40, Dev: 2049}, Ancestor: tr}
	path := StatePath(dir, k)
	if err := SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	got, ok, err := LoadState(path, k)
	if err != nil || !ok {
		t.Fatalf("load: %v %v", ok, err)
	}
	if got.FS != st.FS || got.Key != k || !got.Ancestor.Equal(tr) {
		t.Fatalf("got %+v, want what was saved", got.FS)
	}
	for i := range tr.Len() { // Equal ignores mtimes; the state keeps them
		p, e := tr.At(i)
		if g := got.Ancestor.Lookup(p); g != e {
			t.Fatalf("%s: got %v, want %v", p, g, e)
		}
	}
	if _, ok, err := LoadState(filepath.Join(dir, "none"), k); ok || err != nil {
		t.Errorf("missing file: got %v, %v, want no state and no error", ok, err)
	}
}

func TestStateRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	k := StateKey{Local: "/l", Server: "s", Remote: "r"}
	path := StatePath(dir, k)
	if err := SaveState(path, State{Key: k, Ancestor: bigTree(t, 100)}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	other := StateKey{Local: "/other", Server: "s", Remote: "r"}
	for _, c := range []struct {
		name string
		data []byte
		key  StateKey
	}{
		{"flipped byte", flip(good, len(good)/2), k},
		{"truncated", good[:len(good)-40], k},
		{"empty", nil, k},
		{"another version", flip(good, len(stateMagic)), k},
		{"not a state file", []byte("hello, this is not a state file at all, just some text......"), k},
		{"another sync's file", good, other},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "x")
			os.WriteFile(p, c.data, 0o600)
			_, ok, err := LoadState(p, c.key)
			if ok || !errors.Is(err, ErrBadState) {
				t.Errorf("got ok=%v, %v, want ErrBadState", ok, err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// TestStateSize measures the state at 200,000 entries: the target is
// well under 100 bytes per entry.
func TestStateSize(t *testing.T) {
	tr := bigTree(t, 200_000)
	b := encodeState(State{Ancestor: tr})
	per := float64(len(b)) / float64(tr.Len())
	t.Logf("state of %d entries: %d bytes, %.1f bytes per entry", tr.Len(), len(b), per)
	if per > 60 {
		t.Errorf("got %.1f bytes per entry, want at most 60", per)
	}
}

func TestFSIDSame(t *testing.T) {
	for _, c := range []struct {
		a, b FSID
		want bool
	}{
		{FSID{1, 10}, FSID{1, 10}, true},
		{FSID{1, 10}, FSID{1, 11}, true}, // device renumbered at boot, same file system
		{FSID{1, 10}, FSID{2, 10}, false},
		{FSID{0, 10}, FSID{0, 10}, true},
		{FSID{0, 10}, FSID{0, 11}, false}, // tmpfs: only st_dev tells
		{FSID{0, 10}, FSID{1, 10}, false},
	} {
		if got := c.a.Same(c.b); got != c.want {
			t.Errorf("%+v.Same(%+v): got %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
